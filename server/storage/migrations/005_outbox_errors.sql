-- Why a message was not sent: last_error keeps a stable reason code (no personal data, shown
-- translated); the mail server's or SMS gateway's own reply, which may quote the address or the
-- number, is kept sealed in error_reply. Free-text errors kept in clear before are replaced by
-- the code they stand for (their text, which may hold an address, is dropped).
ALTER TABLE outbox ADD COLUMN error_reply BLOB;
UPDATE outbox SET last_error = CASE
    WHEN last_error = '' THEN ''
    WHEN last_error LIKE 'mail server unreachable%' THEN 'mail_server_unreachable'
    WHEN last_error = 'recipient refused by the mail server' THEN 'mail_server_deferred'
    WHEN last_error LIKE 'mail server error: (4%' THEN 'mail_server_deferred'
    WHEN last_error LIKE 'mail server error: (5%' THEN 'message_refused'
    WHEN last_error LIKE 'SMS gateway answered HTTP%' THEN 'sms_gateway_deferred'
    ELSE 'unexpected' END;
