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
 * @property {{startedAt: string, mode: Mode}|null} session  null when none is active
 */

/**
 * @typedef {object} ConsentChoice
 * @property {ConsentModality} modality
 * @property {boolean} audioFallback
 * @property {boolean} othersPresent
 * @property {string} others
 * @property {string} textHash
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

/** @typedef {{waiting: WaitingEntry[], admitted: {id: string, name: string, connected: boolean}[]}} Lobby */
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

const str = (/** @type {unknown} */ v) => typeof v === 'string' ? v : '';
const bool = (/** @type {unknown} */ v) => v === true;
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
        default: return undefined;  // a type this client does not know: ignored
        }
    }

    /** @param {any} msg */
    gotWelcome(msg) {
        this.id = str(msg.id);
        const session = msg.session && msg.session.mode ?
            {startedAt: str(msg.session.started_at), mode: mode(msg.session.mode)} : null;
        this.onwelcome({id: this.id, role: str(msg.role), name: str(msg.name),
                        iceServers: list(msg.ice_servers), relayOnly: bool(msg.relay_only),
                        state: str(msg.state), session});
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
        this.onlobby({waiting, admitted});
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
        return this.send({type: 'consent', modality: c.modality, audio_fallback: c.audioFallback,
                          others_present: c.othersPresent, others: c.others,
                          text_hash: c.textHash});
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
}

window.ProximaClient = ProximaClient;
