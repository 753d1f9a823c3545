// @ts-check
/**
 * Proxima's protocol layer, after Galène's protocol.js. DOM-free: it is the only script that
 * reads or builds a wire message (docs/protocol.md, version 1). Each incoming message goes to a
 * got* handler, which turns its snake_case fields into the typed value below and calls the
 * matching on* callback; each client message has one method. Page scripts assign the on*
 * callbacks and call the methods, nothing else. The transport (signalling.js) underneath
 * connects, says hello, pings and reconnects; a test may inject a fake one.
 */
'use strict';

/** @typedef {'video'|'audio'|'phone'} Mode */
/** @typedef {'video'|'audio'|'phone'|'none'} ConsentModality */

/**
 * What the transport underneath must do (signalling.js's Signalling, or a fake in a test).
 * @typedef {object} Transport
 * @property {(msg: object) => boolean} send  false when the socket is not open
 * @property {(msg: any) => void} onmessage  each parsed incoming message, pong excepted
 * @property {(state: string) => void} onstate
 * @property {() => boolean} canResume
 * @property {() => void} connect
 * @property {() => void} close
 */

/**
 * @typedef {object} Welcome
 * @property {string} id  your participant id
 * @property {string} role  'worker', 'person' or 'tester'
 * @property {string} name
 * @property {RTCIceServer[]} iceServers
 * @property {boolean} relayOnly  use only the TURN relay
 * @property {string} state  'ready', 'in_call', 'consent', 'waiting' or 'test'
 * @property {{startedAt: string, mode: Mode, elapsedSeconds: number}|null} session  null when
 *     none is active; elapsedSeconds: since it started, by the server's count
 * @property {GroupInfo|null} group  null in a 1:1 interview
 */

/**
 * What a group session's page is told of the group in welcome: never the others' names.
 * @typedef {object} GroupInfo
 * @property {string} title
 * @property {number} people  how many take part, the facilitator included
 * @property {string} rule  the confidentiality rule the person accepts
 * @property {string} speakingRules
 * @property {{title: string, minutes: number}[]} agenda
 * @property {string} startsAt
 * @property {string} endsAt
 * @property {number} durationMinutes
 * @property {string} role  yours: 'facilitator', 'note_taker', 'technical_helper', 'co_worker'
 *     or 'person'
 */

/**
 * @typedef {object} ConsentChoice
 * @property {ConsentModality} modality
 * @property {boolean} audioFallback
 * @property {boolean} othersPresent
 * @property {string} others
 * @property {string} textHash
 * @property {boolean} [ruleAccepted]  in a group: the group's rule (required there)
 * @property {boolean} [othersAccepted]  in a group: the others' presence (required there)
 */

/**
 * @typedef {object} WaitingEntry
 * @property {string} id
 * @property {string} since
 * @property {string} name
 * @property {string} browser  a catalog id, shown in the page's language
 * @property {string} device
 * @property {string} test  the last connection test's recommendation, '' when none
 * @property {{modality: ConsentModality, audioFallback: boolean, othersPresent: boolean,
 *             others: string}} consent
 */

/** @typedef {{appointment: number, name: string, byPhone: boolean}} GroupPerson a group's person, for its workers */
/** @typedef {{waiting: WaitingEntry[], admitted: {id: string, name: string, connected: boolean}[],
 *             people: GroupPerson[]}} Lobby  people: [] in a 1:1 interview */
/** @typedef {{peer: string, name: string, polite: boolean, mode: Mode}} Admission */
/** @typedef {{description?: RTCSessionDescriptionInit, candidate?: RTCIceCandidateInit}} SignalPayload */
/** @typedef {{from: string, name: string, text: string, at: string}} ChatMessage */
/** @typedef {{from: string, audio: boolean, video: boolean}} MediaStateChange */
/** @typedef {{from: string, mode: Mode, reason: string}} ModeChange */

/**
 * @typedef {object} PhoneInstructions
 * @property {string} workerPhone
 * @property {string} servicePhone
 * @property {string} personPhone  '' for the person
 * @property {string} personPhoneEnd
 * @property {string} planB  'worker_calls' or 'person_calls'
 * @property {string} reason
 */

/**
 * The browser's figures at the end of a connection test (numbers may be null when unknown).
 * @typedef {object} TestFigures
 * @property {number|null} rttMs
 * @property {number} audioUpKbps
 * @property {number} videoUpKbps
 * @property {number} audioDownKbps
 * @property {number} videoDownKbps
 * @property {number} upKbps
 * @property {number} downKbps
 * @property {number|null} loss
 * @property {number} jitterMs
 * @property {number} fps
 * @property {number} width
 * @property {number} height
 * @property {string} path
 */

/**
 * @typedef {object} TestResult
 * @property {string} recommendation  'video', 'audio' or 'phone'
 * @property {{rttMs?: number|null, upKbps?: number, downKbps?: number, loss?: number|null,
 *             path?: string} & Record<string, unknown>} figures
 * @property {string} at
 * @property {string} participant
 * @property {string} device
 */

/** @typedef {{participant: string, name: string, device: string, workerPresent: boolean}} HelpAlert */

/** @typedef {{id: string, name: string}} Someone */
/** @typedef {'waiting'|'ok'|'problem'} RoundStatus */
/** @typedef {{id: string, name: string, status: RoundStatus, hears: boolean, sees: boolean}} RoundEntry */
/** @typedef {{minutes: number, until: string, remainingSeconds: number}} BreakInfo */

/**
 * A group's call as everyone in it sees it (group_state).
 * @typedef {object} GroupState
 * @property {string} startedAt
 * @property {number} elapsedSeconds  since the session started, when the server sent this
 * @property {Someone[]} hands  raised hands, in the order they went up
 * @property {Someone|null} floor  who has the floor
 * @property {number} agendaItem  the index of the item in progress in GroupInfo.agenda, -1: none
 * @property {string} agendaSince
 * @property {{current: string, entries: RoundEntry[]}|null} round  the sound-and-camera round
 * @property {BreakInfo|null} break  null when there is no break
 */

/**
 * A reminder to the facilitator: 'break_due' (45 minutes without a break), 'end_soon' (the
 * planned end in 10 minutes) or 'break_time_up' (the break's countdown is over).
 * @typedef {{kind: string, minutes: number}} Reminder
 */

const str = (/** @type {unknown} */ v) => typeof v === 'string' ? v : '';
const bool = (/** @type {unknown} */ v) => v === true;
const int = (/** @type {unknown} */ v, fallback = 0) => Number.isInteger(v) ? Number(v) : fallback;
const list = (/** @type {unknown} */ v) => Array.isArray(v) ? v : [];
const mode = (/** @type {unknown} */ v) => /** @type {Mode} */ (
    v === 'audio' || v === 'phone' ? v : 'video');

/** Keys of a figures object from the wire's rtt_ms to rttMs, and back. */
const camelKeys = (/** @type {any} */ o) => Object.fromEntries(Object.entries(o || {}).map(
    ([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), v]));
const snakeKeys = (/** @type {object} */ o) => Object.fromEntries(Object.entries(o).map(
    ([k, v]) => [k.replace(/[A-Z]/g, c => '_' + c.toLowerCase()), v]));

class ProximaClient {
    /** @param {Transport} transport */
    constructor(transport) {
        this.transport = transport;
        /** Your participant id, from the last welcome. */
        this.id = '';
        /** Whether the next hello may resume (the page kept its peer connections). */
        this.canResume = () => false;
        /** @type {(state: string) => void} 'connecting' | 'open' | 'reconnecting' | 'closed' |
         *  'access_ended' (the page should reload: the server says why) */
        this.onstate = () => {};
        /** @type {(welcome: Welcome) => void} */
        this.onwelcome = () => {};
        /** @type {(waiting: {since: string, workerPresent: boolean}) => void} */
        this.onwaiting = () => {};
        /** @type {(lobby: Lobby) => void} */
        this.onlobby = () => {};
        /** @type {(admission: Admission) => void} start (or restart) a link with a peer */
        this.onadmitted = () => {};
        /** @type {(phone: string) => void} the worker could not let you in */
        this.ondeclined = () => {};
        /** @type {(from: string, signal: SignalPayload) => void} */
        this.onsignal = () => {};
        /** @type {(peer: string) => void} its signalling went away (it may come back) */
        this.onpeerleft = () => {};
        /** @type {(chat: ChatMessage) => void} */
        this.onchat = () => {};
        /** @type {(media: MediaStateChange) => void} */
        this.onmedia = () => {};
        /** @type {(change: ModeChange) => void} */
        this.onmodality = () => {};
        /** @type {(phone: PhoneInstructions) => void} */
        this.onphone = () => {};
        /** @type {(reason: string) => void} */
        this.onended = () => {};
        /** @type {(code: string, message: string) => void} */
        this.onerror = () => {};
        /** @type {(answer: RTCSessionDescriptionInit) => void} the test peer's answer */
        this.ontestanswer = () => {};
        /** @type {(result: TestResult) => void} */
        this.ontestresult = () => {};
        /** @type {(alert: HelpAlert) => void} */
        this.onhelpalert = () => {};
        /** @type {(state: GroupState) => void} a group's hands, floor, agenda item, round, break */
        this.ongroupstate = () => {};
        /** @type {(by: Someone) => void} turn the microphone off and say who asked (unmuting
         *  stays the person's) */
        this.onmuterequest = () => {};
        /** @type {(pause: BreakInfo) => void} turn the camera and microphone off, remembering
         *  which were on; show the break screen and its countdown */
        this.onbreakstarted = () => {};
        /** @type {() => void} the break is over: turn back on only what was on before it */
        this.onbreakover = () => {};
        /** @type {(reminder: Reminder) => void} to the facilitator */
        this.onreminder = () => {};
        transport.onmessage = msg => this.gotMessage(msg);
        transport.onstate = state => this.onstate(state);
        transport.canResume = () => this.canResume();
    }

    /**
     * A participant's role from its id as protocol.md's "Participant" documents it: `w:` the
     * worker, `g:` a person's browser, `t:` a connection test.
     * @param {string} id
     */
    static roleOf(id) {
        return id.startsWith('w:') ? 'worker' : id.startsWith('g:') ? 'person' :
            id.startsWith('t:') ? 'tester' : '';
    }

    connect() {
        this.transport.connect();
    }

    close() {
        this.transport.close();
    }

    // -- incoming -------------------------------------------------------------------------------

    /** @param {any} msg  one parsed wire message */
    gotMessage(msg) {
        if (!msg || typeof msg !== 'object') return;
        switch (msg.type) {
        case 'welcome': return this.gotWelcome(msg);
        case 'waiting': return this.onwaiting({since: str(msg.since), workerPresent: bool(msg.worker_present)});
        case 'lobby': return this.gotLobby(msg);
        case 'admitted': return this.onadmitted({peer: str(msg.peer), name: str(msg.peer_name),
                                                 polite: bool(msg.polite), mode: mode(msg.modality)});
        case 'declined': return this.ondeclined(str(msg.phone));
        case 'signal': return this.gotSignal(msg);
        case 'peer_left': return this.onpeerleft(str(msg.peer));
        case 'chat': return this.onchat({from: str(msg.from), name: str(msg.name),
                                         text: str(msg.text), at: str(msg.at)});
        case 'media': return this.onmedia({from: str(msg.from), audio: msg.audio !== false,
                                           video: msg.video !== false});
        case 'modality': return this.onmodality({from: str(msg.from), mode: mode(msg.mode),
                                                 reason: str(msg.reason)});
        case 'phone': return this.gotPhone(msg);
        case 'ended': return this.onended(str(msg.reason));
        case 'error': return this.onerror(str(msg.code), str(msg.message));
        case 'test_answer': return this.ontestanswer({type: 'answer', sdp: str(msg.sdp)});
        case 'test_result': return this.gotTestResult(msg);
        case 'help_alert': return this.onhelpalert({
            participant: str(msg.participant), name: str(msg.name), device: str(msg.device),
            workerPresent: bool(msg.worker_present)});
        case 'group_state': return this.gotGroupState(msg);
        case 'mute_request': return this.onmuterequest({id: str(msg.from), name: str(msg.name)});
        case 'break_started': return this.onbreakstarted({
            minutes: int(msg.minutes), until: str(msg.until),
            remainingSeconds: int(msg.remaining_seconds)});
        case 'break_over': return this.onbreakover();
        case 'reminder': return this.onreminder({kind: str(msg.kind), minutes: int(msg.minutes)});
        default: return undefined;  // a type this client does not know: ignored
        }
    }

    /** @param {any} msg */
    gotWelcome(msg) {
        this.id = str(msg.id);
        const session = msg.session && msg.session.mode ?
            {startedAt: str(msg.session.started_at), mode: mode(msg.session.mode),
             elapsedSeconds: int(msg.session.elapsed_seconds)} : null;
        const g = msg.group;
        const group = g && typeof g === 'object' && g.title ? {
            title: str(g.title), people: int(g.people), rule: str(g.rule),
            speakingRules: str(g.speaking_rules),
            agenda: list(g.agenda).map(a => ({title: str(a && a.title), minutes: int(a && a.minutes)})),
            startsAt: str(g.starts_at), endsAt: str(g.ends_at),
            durationMinutes: int(g.duration_minutes), role: str(g.role)} : null;
        this.onwelcome({id: this.id, role: str(msg.role), name: str(msg.name),
                        iceServers: list(msg.ice_servers), relayOnly: bool(msg.relay_only),
                        state: str(msg.state), session, group});
    }

    /** @param {any} msg */
    gotGroupState(msg) {
        const someone = (/** @type {any} */ s) => ({id: str(s && s.id), name: str(s && s.name)});
        const floor = msg.floor && msg.floor.id ? someone(msg.floor) : null;
        const r = msg.round;
        const round = r && typeof r === 'object' && Array.isArray(r.entries) ? {
            current: str(r.current),
            entries: list(r.entries).map(e => ({
                ...someone(e), hears: bool(e && e.hears), sees: bool(e && e.sees),
                status: /** @type {RoundStatus} */ (
                    e && (e.status === 'ok' || e.status === 'problem') ? e.status : 'waiting')}))
        } : null;
        const pause = msg.break_until ? {minutes: int(msg.break_minutes), until: str(msg.break_until),
                                         remainingSeconds: int(msg.break_remaining_seconds)} : null;
        this.ongroupstate({startedAt: str(msg.started_at), elapsedSeconds: int(msg.elapsed_seconds),
                           hands: list(msg.hands).map(someone), floor,
                           agendaItem: int(msg.agenda_item, -1), agendaSince: str(msg.agenda_since),
                           round, break: pause});
    }

    /** @param {any} msg */
    gotLobby(msg) {
        const waiting = list(msg.waiting).map(w => {
            const c = w.consent || {};
            return {id: str(w.id), since: str(w.since), name: str(w.name), browser: str(w.browser),
                    device: str(w.device), test: str(w.test),
                    consent: {modality: /** @type {ConsentModality} */ (str(c.modality)),
                              audioFallback: bool(c.audio_fallback),
                              othersPresent: bool(c.others_present), others: str(c.others)}};
        });
        const admitted = list(msg.admitted).map(a => ({id: str(a.id), name: str(a.name),
                                                       connected: bool(a.connected)}));
        const people = list(msg.people).map(x => ({appointment: int(x && x.appointment),
                                                   name: str(x && x.name),
                                                   byPhone: bool(x && x.by_phone)}));
        this.onlobby({waiting, admitted, people});
    }

    /** @param {any} msg */
    gotSignal(msg) {
        /** @type {SignalPayload} */
        const signal = {};
        if (msg.description) signal.description = msg.description;
        if (msg.candidate) signal.candidate = msg.candidate;
        this.onsignal(str(msg.from), signal);
    }

    /** @param {any} msg */
    gotPhone(msg) {
        this.onphone({workerPhone: str(msg.worker_phone), servicePhone: str(msg.service_phone),
                      personPhone: str(msg.person_phone), personPhoneEnd: str(msg.person_phone_end),
                      planB: str(msg.plan_b), reason: str(msg.reason)});
    }

    /** @param {any} msg */
    gotTestResult(msg) {
        this.ontestresult({recommendation: str(msg.recommendation), figures: camelKeys(msg.figures),
                           at: str(msg.at), participant: str(msg.participant),
                           device: str(msg.device)});
    }

    // -- outgoing: each returns whether the message went out (false while disconnected) -------

    /** @param {object} msg */
    send(msg) {
        return this.transport.send(msg);
    }

    /** The person's consent (or a change of it). @param {ConsentChoice} c */
    consent(c) {
        /** @type {Record<string, unknown>} */
        const msg = {type: 'consent', modality: c.modality, audio_fallback: c.audioFallback,
                     others_present: c.othersPresent, others: c.others, text_hash: c.textHash};
        if (c.ruleAccepted !== undefined) msg.rule_accepted = c.ruleAccepted;
        if (c.othersAccepted !== undefined) msg.others_accepted = c.othersAccepted;
        return this.send(msg);
    }

    /** The person withdraws consent (leaves). @param {string} textHash */
    withdraw(textHash) {
        return this.send({type: 'consent', modality: 'none', text_hash: textHash});
    }

    /** The worker's readiness checklist. @param {{quiet: boolean, confidential: boolean, headset: boolean}} r */
    ready(r) {
        return this.send({type: 'ready', quiet: r.quiet, confidential: r.confidential,
                          headset: r.headset});
    }

    /** @param {string} participant */
    admit(participant) {
        return this.send({type: 'admit', participant});
    }

    /** @param {string} participant */
    decline(participant) {
        return this.send({type: 'decline', participant});
    }

    /** A description or a candidate for one peer. @param {string} to @param {SignalPayload} signal */
    signal(to, signal) {
        return this.send(signal.description ? {type: 'signal', to, description: signal.description}
            : {type: 'signal', to, candidate: signal.candidate});
    }

    /** @param {string} text */
    chat(text) {
        return this.send({type: 'chat', text});
    }

    /** The microphone and camera on or off. @param {boolean} audio @param {boolean} video */
    media(audio, video) {
        return this.send({type: 'media', audio, video});
    }

    /** @param {'video'|'audio'} newMode @param {string} reason */
    modality(newMode, reason) {
        return this.send({type: 'modality', mode: newMode, reason});
    }

    /** Continue by phone. @param {string} reason */
    fallback(reason) {
        return this.send({type: 'fallback', reason});
    }

    /** @param {string} kind */
    incident(kind) {
        return this.send({type: 'incident', kind});
    }

    /** The worker ends the session (phoneFinished: the phone part of it). @param {boolean} phoneFinished */
    end(phoneFinished) {
        return this.send({type: 'end', phone_finished: phoneFinished});
    }

    /** The worker puts the interview off to another day (the session ends as postponed). */
    postpone() {
        return this.send({type: 'end', postponed: true});
    }

    /** @param {string} sdp */
    testOffer(sdp) {
        return this.send({type: 'test_offer', sdp});
    }

    /** @param {RTCIceCandidateInit} candidate */
    testCandidate(candidate) {
        return this.send({type: 'test_candidate', candidate});
    }

    /** @param {TestFigures} figures */
    testDone(figures) {
        return this.send({type: 'test_done', figures: snakeKeys(figures)});
    }

    help() {
        return this.send({type: 'help'});
    }

    // -- a group session: the facilitator's tools, and the members' own ----------------------

    /** Let in everyone waiting (the facilitator, or the technical helper). */
    admitAll() {
        return this.send({type: 'admit_all'});
    }

    /** Raise your own hand (it joins the queue). */
    raiseHand() {
        return this.send({type: 'hand', raised: true});
    }

    /** Lower your own hand. */
    lowerMyHand() {
        return this.send({type: 'hand', raised: false});
    }

    /** The facilitator lowers one member's hand. @param {string} participant */
    lowerHand(participant) {
        return this.send({type: 'lower_hand', participant});
    }

    /** The facilitator lowers every hand. */
    lowerAllHands() {
        return this.send({type: 'lower_hand', participant: ''});
    }

    /** The facilitator gives the floor to a member ('' takes it back). @param {string} participant */
    giveFloor(participant) {
        return this.send({type: 'give_floor', participant});
    }

    /** Ask one member to turn their microphone off. @param {string} participant */
    mute(participant) {
        return this.send({type: 'mute', participant});
    }

    /** Ask everyone else in the call to turn their microphone off. */
    muteAll() {
        return this.send({type: 'mute', participant: ''});
    }

    /** The facilitator removes a person (their link is revoked). @param {string} participant */
    remove(participant) {
        return this.send({type: 'remove', participant});
    }

    /** The facilitator starts the sound-and-camera round. */
    startRound() {
        return this.send({type: 'round', action: 'start'});
    }

    /** The round's turn goes to `participant`, or ('') to the next one not yet checked.
     *  @param {string} [participant] */
    nextInRound(participant = '') {
        return this.send({type: 'round', action: 'next', participant});
    }

    endRound() {
        return this.send({type: 'round', action: 'end'});
    }

    /** Whether you hear and see the others (your turn in the round). @param {boolean} hears @param {boolean} sees */
    roundCheck(hears, sees) {
        return this.send({type: 'round_check', hears, sees});
    }

    /** The agenda item in progress: its index, or -1 for none. @param {number} item */
    setAgendaItem(item) {
        return this.send({type: 'agenda', item});
    }

    /** A break of `minutes` (1 to 30) for everyone. @param {number} minutes */
    startBreak(minutes) {
        return this.send({type: 'break_start', minutes});
    }

    /** Everyone back from the break. */
    endBreak() {
        return this.send({type: 'break_end'});
    }

    /**
     * Mark that a person attends by phone (or take the mark back): a browser of theirs, or their
     * appointment (Lobby.people) when no browser of theirs is connected.
     * @param {{participant: string}|{appointment: number}} who @param {boolean} byPhone
     */
    markByPhone(who, byPhone) {
        return this.send('participant' in who
            ? {type: 'by_phone', participant: who.participant, by_phone: byPhone}
            : {type: 'by_phone', appointment: who.appointment, by_phone: byPhone});
    }
}

window.ProximaClient = ProximaClient;
