// @ts-check
/**
 * The live interview's UI, for the person (data-role="person") and the worker ("worker"). It wires
 * the DOM-free layers (ProximaSignalling, ProximaPeer, ProximaQuality) to the page. Texts come
 * from <template> elements (translated on the server); nothing received is inserted as HTML.
 */
'use strict';

(function () {
    const root = document.getElementById('interview');
    if (!root) return;
    const role = root.dataset.role;
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    const text = (/** @type {string} */ id, /** @type {Record<string, string>} */ values = {}) => {
        const t = /** @type {HTMLTemplateElement|null} */ (document.getElementById(id));
        let s = t ? (t.content.textContent || '').trim() : '';
        for (const [k, v] of Object.entries(values)) s = s.replace('{' + k + '}', v);
        return s;
    };
    /**
     * A browser or device name as the server sends it (a catalog id, or "browser, device" in
     * test results and help alerts), in the page's language (the #device-names template).
     */
    const deviceName = (/** @type {string} */ name) => String(name || '').split(', ').map((part) => {
        const names = /** @type {HTMLTemplateElement|null} */ (document.getElementById('device-names'));
        const found = names && Array.from(names.content.querySelectorAll('[data-name]'))
            .find((el) => /** @type {HTMLElement} */ (el).dataset.name === part);
        return found ? (found.textContent || part) : part;
    }).join(', ');
    const show = (/** @type {string} */ id) => {
        for (const step of Array.from(root.querySelectorAll('[data-step]')))
            /** @type {HTMLElement} */ (step).hidden = step.id !== id;
    };
    /** The end: shown, brought into view, its heading focused (and so announced). */
    const showEnd = () => {
        show('ended-step');
        const title = $('ended-title');
        title.tabIndex = -1;
        title.scrollIntoView({block: 'start'});
        title.focus({preventScroll: true});
    };

    /** @type {any} */ let peer = null;
    /** @type {any} */ let quality = null;
    /** @type {MediaStream|null} */ let stream = null;
    /** @type {RTCIceServer[]} */ let iceServers = [];
    let mode = 'video';
    let consent = {modality: 'video', audio_fallback: false};
    let poorReports = 0;
    let lostTimer = 0;
    let waitingTimer = 0;
    let seenWaiting = new Set();
    let relayOnly = false;

    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const signalling = new window.ProximaSignalling(scheme + '//' + location.host + root.dataset.ws);
    signalling.canResume = () => !!peer && peer.pc.connectionState !== 'closed';
    const send = (/** @type {object} */ m) => signalling.send(m);

    signalling.onstate = (/** @type {string} */ state) => {
        if (state === 'access_ended') {  // revoked, cancelled, account disabled: the page says why
            stopCall();
            location.reload();
            return;
        }
        if (state === 'reconnecting') checkPage();
        const el = $('connection-state');
        if (el) el.textContent = state === 'open' ? text('t-online') :
            state === 'reconnecting' ? text('t-reconnecting') : '';
    };

    async function openMedia(/** @type {string} */ wanted) {
        const video = wanted === 'video';
        if (stream) {
            if (!video || stream.getVideoTracks().length) return stream;
            for (const t of stream.getTracks()) t.stop();
        }
        try {
            stream = await navigator.mediaDevices.getUserMedia({audio: true, video: video});
        } catch (e) {
            stream = await navigator.mediaDevices.getUserMedia({audio: true, video: false});
        }
        $('local-video').srcObject = stream;
        return stream;
    }

    /** A refused reconnection looks like a network error: ask the page whether access ended. */
    async function checkPage() {
        try {
            const r = await fetch(location.href, {method: 'HEAD', cache: 'no-store'});
            if (r.redirected || r.status === 403 || r.status === 404 || r.status === 410) {
                stopCall();
                location.reload();
            }
        } catch (e) { /* offline: keep trying to reconnect */ }
    }

    function stopCall() {
        if (quality) quality.stop();
        if (peer) peer.close();
        peer = null;
        quality = null;
        if (stream) for (const t of stream.getTracks()) t.stop();
        stream = null;
        window.clearTimeout(lostTimer);
    }

    async function startPeer(/** @type {any} */ msg) {
        mode = msg.modality === 'audio' ? 'audio' : 'video';
        const wanted = role === 'person' && consent.modality === 'audio' ? 'audio' : mode;
        await openMedia(wanted);
        if (peer) peer.close();
        peer = new window.ProximaPeer({peer: msg.peer, polite: msg.polite, iceServers: iceServers,
                                      send: send, stream: /** @type {MediaStream} */ (stream),
                                      relayOnly: relayOnly});
        peer.ontrack = (/** @type {MediaStream} */ s) => { $('remote-video').srcObject = s; };
        peer.onincident = (/** @type {string} */ kind) => send({type: 'incident', kind: kind});
        peer.onconnection = (/** @type {string} */ state) => {
            if (state === 'connected') {
                window.clearTimeout(lostTimer);
                lostTimer = 0;
                $('peer-status').textContent = text('t-peer-here');
            } else if ((state === 'disconnected' || state === 'failed') && !lostTimer) {
                lostTimer = window.setTimeout(connectionLost, 10000);
            }
        };
        if (mode === 'audio') await peer.setAudioOnly(true);
        quality = new window.ProximaQuality(peer.pc, gotQuality);
        quality.expectVideo = mode === 'video';
        quality.onsilence = (/** @type {string} */ stage) => {
            if (stage === 'restart' && peer) {
                peer.restartIce();
            } else if (stage === 'dead') {  // nothing arrives any more: the phone, not sound only
                send({type: 'incident', kind: 'no_media'});
                connectionLost();
            }
        };
        show('call-step');
        updateModeButton();
    }

    /** Nothing arrives any more (or ICE stayed down about 10 s): plan B by phone. */
    function connectionLost() {
        window.clearTimeout(lostTimer);
        lostTimer = 0;
        if (peer && peer.pc.connectionState === 'connected' && !(quality && quality.silent)) return;
        if (!send({type: 'fallback', reason: 'connection_lost'})) {
            // No signalling either: say locally whom to call.
            if (role === 'person') {
                $('phone-who').textContent = text('t-lost');
                show('phone-step');
            } else {
                $('phone-reason').textContent = text('t-reason-lost');
                show('phone-step');
            }
        }
    }

    function gotQuality(/** @type {any} */ report) {
        $('quality').textContent = text('t-q-' + report.level);
        $('quality').dataset.level = report.level;
        $('quality').dataset.framesDecoded = String(report.framesDecoded);
        if (report.level === 'poor' && mode === 'video') {
            poorReports += 1;
            if (poorReports === 2) {
                send({type: 'incident', kind: 'poor_quality'});
                if (role === 'person' && consent.audio_fallback)
                    send({type: 'modality', mode: 'audio', reason: 'poor_quality'});
                else
                    notice(text('t-q-poor'));
            }
        } else {
            poorReports = 0;
        }
    }

    function notice(/** @type {string} */ message) {
        const el = $('modality-notice');
        el.textContent = message;
        el.hidden = false;
    }

    function updateModeButton() {
        const b = $('btn-audio-only');
        b.textContent = text(mode === 'audio' ? 't-to-video' : 't-to-audio');
        b.setAttribute('aria-pressed', String(mode === 'audio'));
    }

    async function applyMode(/** @type {string} */ newMode) {
        mode = newMode;
        if (peer) {
            if (mode === 'video' && stream && !stream.getVideoTracks().length &&
                !(role === 'person' && consent.modality === 'audio')) {
                const camera = await navigator.mediaDevices.getUserMedia({video: true});
                const track = camera.getVideoTracks()[0];
                stream.addTrack(track);
                const sender = peer.videoSender();
                if (sender) await sender.replaceTrack(track);
            }
            await peer.setAudioOnly(mode === 'audio');
            quality.expectVideo = mode === 'video';
        }
        notice(text(mode === 'audio' ? 't-mode-audio' : 't-mode-video'));
        updateModeButton();
    }

    function addChat(/** @type {any} */ msg) {
        const li = document.createElement('li');
        const who = document.createElement('strong');
        who.textContent = msg.name + ' : ';
        const body = document.createElement('span');
        body.textContent = msg.text;
        li.append(who, body);
        $('chat-log').append(li);
    }

    function showPhone(/** @type {any} */ msg) {
        stopCall();
        if (role === 'person') {
            const who = msg.plan_b === 'person_calls' ? text('t-you-call') : msg.service_phone ?
                text('t-will-call', {end: msg.person_phone_end, number: msg.service_phone}) :
                text('t-will-call-hidden', {end: msg.person_phone_end});
            $('phone-who').textContent = who;
        } else if (msg.reason === 'connection_lost') {
            $('phone-reason').textContent = text('t-reason-lost');
        }
        show('phone-step');
    }

    function renderLobby(/** @type {any} */ msg) {
        const list = $('lobby-list');
        list.replaceChildren();
        $('lobby-empty').hidden = msg.waiting.length > 0;
        let someoneNew = false;
        for (const w of msg.waiting) {
            if (!seenWaiting.has(w.id)) someoneNew = true;
            const row = /** @type {HTMLTemplateElement} */ ($('waiting-row')).content.cloneNode(true);
            const li = /** @type {any} */ (/** @type {DocumentFragment} */ (row).firstElementChild);
            const device = deviceName(w.browser) + ', ' + deviceName(w.device);
            li.querySelector('.who').textContent = w.name + ' (' + device + ')';
            const c = w.consent;
            li.querySelector('.consent').textContent = [
                text('t-consent-' + c.modality),
                c.others_present ? text('t-others', {others: c.others || '?'}) : text('t-alone'),
                text('t-since', {time: new Date(w.since).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})}),
                w.test ? text('t-rec-' + w.test) : '',
            ].filter(Boolean).join(' · ');
            const admit = li.querySelector('.admit');
            admit.textContent = text('t-admit', {device: device});
            admit.addEventListener('click', () => send({type: 'admit', participant: w.id}));
            const decline = li.querySelector('.decline');
            decline.textContent = text('t-decline', {device: device});
            decline.addEventListener('click', () => send({type: 'decline', participant: w.id}));
            list.append(li);
        }
        seenWaiting = new Set(msg.waiting.map((/** @type {any} */ w) => w.id));
        if (someoneNew) {
            $('lobby-alert').textContent = text('t-someone-waiting');
            $('lobby-alert').hidden = false;
            chime();
        }
    }

    /** A knock: a short sound when someone starts waiting. */
    function chime() {
        try {
            const ctx = new AudioContext();
            const osc = ctx.createOscillator();
            const gain = ctx.createGain();
            gain.gain.value = 0.15;
            osc.frequency.value = 880;
            osc.connect(gain).connect(ctx.destination);
            osc.start();
            osc.stop(ctx.currentTime + 0.3);
            window.setTimeout(() => ctx.close(), 600);
        } catch (e) { /* no sound available: the visible notice remains */ }
    }

    let ready = false;
    let endedShown = false;
    signalling.onmessage = async (/** @type {any} */ msg) => {
        switch (msg.type) {
        case 'welcome':
            iceServers = msg.ice_servers;
            relayOnly = msg.relay_only;
            if (role === 'worker') {
                if (msg.state === 'in_call' && msg.session.mode === 'phone') show('phone-step');
                else if (ready || msg.state === 'in_call') show(peer ? 'call-step' : 'lobby-step');
                else show('checklist-step');
            } else if (msg.state === 'consent') {
                show('consent-step');
            }
            break;
        case 'waiting':
            show('waiting-step');
            $('worker-status').textContent = text(msg.worker_present ? 't-worker-here' : 't-worker-away');
            window.clearTimeout(waitingTimer);
            waitingTimer = window.setTimeout(() => { $('waiting-phone').hidden = false; },
                msg.worker_present ? 10 * 60000 : 5 * 60000);
            break;
        case 'lobby':
            renderLobby(msg);
            break;
        case 'admitted':
            await startPeer(msg);
            break;
        case 'signal':
            if (peer && peer.peer === msg.from) await peer.gotSignal(msg);
            break;
        case 'peer_left':
            if (peer && peer.peer === msg.peer) $('peer-status').textContent = text('t-peer-left');
            break;
        case 'chat':
            addChat(msg);
            break;
        case 'media':
            $('peer-status').textContent = !msg.audio ? text('t-muted') :
                !msg.video ? text('t-cam-hidden') : text('t-peer-here');
            break;
        case 'modality':
            await applyMode(msg.mode);
            break;
        case 'phone':
            showPhone(msg);
            break;
        case 'declined':
            stopCall();
            $('ended-text').textContent = text('t-declined');
            showEnd();
            break;
        case 'ended':
            stopCall();
            endedShown = true;
            if (role === 'worker') {
                show('closing-step');
            } else {
                $('ended-text').textContent = text(msg.reason === 'consent_withdrawn' ?
                    't-withdrawn' : msg.reason === 'worker_left' ? 't-worker-left' : 't-ended');
                $('ended-call').hidden = msg.reason !== 'worker_left';
                showEnd();
            }
            signalling.close();
            break;
        case 'test_result': {
            const f = msg.figures;
            const li = document.createElement('li');
            li.textContent = text('t-test', {device: deviceName(msg.device),
                advice: text('t-rec-' + msg.recommendation),
                rtt: String(f.rtt_ms), up: String(f.up_kbps), down: String(f.down_kbps),
                loss: String(Math.round((f.loss || 0) * 1000) / 10),
                path: text('t-path-' + f.path) || text('t-path-unknown')});
            li.dataset.recommendation = msg.recommendation;
            $('test-list').append(li);
            break;
        }
        case 'help_alert':
            $('lobby-alert').textContent = text('t-help', {name: msg.name, device: deviceName(msg.device)});
            $('lobby-alert').hidden = false;
            chime();
            break;
        case 'error':
            console.warn('proxima:', msg.code, msg.message);
            break;
        }
    };

    // -- the person's forms -------------------------------------------------------------------
    const consentForm = $('consent-form');
    if (consentForm) {
        consentForm.addEventListener('submit', (/** @type {Event} */ e) => {
            e.preventDefault();
            const data = new FormData(consentForm);
            consent = {modality: String(data.get('modality') || 'video'),
                       audio_fallback: data.get('audio_fallback') === 'on'};
            send({type: 'consent', modality: consent.modality,
                  audio_fallback: consent.audio_fallback,
                  others_present: data.get('others_present') === 'yes',
                  others: String(data.get('others') || ''),
                  text_hash: root.dataset.consentHash});
        });
        $('btn-change-consent').addEventListener('click', () => show('consent-step'));
    }
    const leave = $('btn-leave');
    if (leave) leave.addEventListener('click', () => send({
        type: 'consent', modality: 'none', text_hash: root.dataset.consentHash}));

    // -- the worker's forms -------------------------------------------------------------------
    const checklist = $('checklist-form');
    if (checklist) {
        checklist.addEventListener('submit', (/** @type {Event} */ e) => {
            e.preventDefault();
            const data = new FormData(checklist);
            send({type: 'ready', quiet: data.get('quiet') === 'on',
                  confidential: data.get('confidential') === 'on', headset: data.get('headset') === 'on'});
            ready = true;
            show('lobby-step');
        });
    }
    const startPhone = $('btn-start-phone');
    if (startPhone) startPhone.addEventListener('click', () => send({type: 'fallback', reason: 'planned'}));
    const end = $('btn-end');
    if (end) end.addEventListener('click', () => send({type: 'end'}));
    const phoneDone = $('btn-phone-done');
    if (phoneDone) phoneDone.addEventListener('click', () => send({type: 'end', phone_finished: true}));

    // -- the call controls, both sides --------------------------------------------------------
    /** A microphone or camera toggle: the button's state, the track, and the other side told. */
    function toggle(/** @type {string} */ id, /** @type {string} */ kind) {
        $(id).addEventListener('click', () => {
            const b = $(id);
            const off = b.getAttribute('aria-pressed') !== 'true';
            b.setAttribute('aria-pressed', String(off));
            b.textContent = text(off ? `t-${kind}-on` : `t-${kind}-off`);
            if (peer) kind === 'mic' ? peer.setMicrophone(!off) : peer.setCamera(!off);
            send({type: 'media', audio: $('btn-mic').getAttribute('aria-pressed') !== 'true',
                  video: $('btn-cam').getAttribute('aria-pressed') !== 'true'});
        });
    }
    toggle('btn-mic', 'mic');
    toggle('btn-cam', 'cam');
    $('btn-audio-only').addEventListener('click', () => send({
        type: 'modality', mode: mode === 'video' ? 'audio' : 'video', reason: 'asked'}));
    $('btn-phone').addEventListener('click', () => send({type: 'fallback', reason: 'asked'}));
    $('chat-form').addEventListener('submit', (/** @type {Event} */ e) => {
        e.preventDefault();
        const input = $('chat-text');
        if (input.value.trim()) send({type: 'chat', text: input.value});
        input.value = '';
    });
    window.addEventListener('pagehide', () => { if (!endedShown) stopCall(); });

    signalling.connect();
})();
