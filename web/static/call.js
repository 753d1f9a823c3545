// @ts-check
/**
 * The call on the live page: a room, so one link per other participant (peer id → its
 * PeerSession, its QualityMonitor and its video element), and what the call step shows of them.
 * In a 1:1 interview the first link uses #remote-video, #quality and #peer-status and any further
 * link gets its own video in #more-videos; in a group every participant has a tile in the grid
 * (grid.js), with the active speaker highlighted (speaker.js). Each browser's upstream is shared
 * by its links (upstreamKbps: PeerSession.budget), rebalanced whenever a link comes or goes.
 * A UI piece of interview.js: it talks to the server only through the protocol layer's methods
 * (ProximaClient) and is given the typed values of its callbacks.
 */
'use strict';

/**
 * One link of the call: the peer connection with one other participant.
 * @typedef {object} Link
 * @property {string} peer
 * @property {boolean} primary  shown in #remote-video, #quality and #peer-status
 * @property {boolean} planB  a dead path on it sends the whole call to the phone
 * @property {PeerSession|null} session  null while the camera opens
 * @property {QualityMonitor|null} quality
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} status
 * @property {Promise<void>} queue  what happens on it (its start, then each signal), in order
 * @property {number} lostTimer
 * @property {number} poorReports
 */

class CallView {
    /**
     * @param {{client: ProximaClient, role: string,
     *          text: (id: string, values?: Record<string, string>) => string,
     *          group?: boolean, upstreamKbps?: number}} options
     */
    constructor(options) {
        this.client = options.client;
        this.role = options.role;
        this.text = options.text;
        /** A group call: tiles in a grid, plan B each person's own. */
        this.group = options.group === true;
        this.upstreamKbps = options.upstreamKbps || 1200;
        this.grid = this.group ? new window.ProximaGrid() : null;
        /** @type {ActiveSpeaker|null} */
        this.speaker = null;
        /** Whether this page receives the others' video ("don't receive video": a weak device). */
        this.receiveVideo = true;
        /** @type {Map<string, Link>} */
        this.links = new Map();
        /** @type {MediaStream|null} */
        this.stream = null;
        /** @type {Promise<unknown>} */
        this.opening = Promise.resolve();
        /** @type {RTCIceServer[]} */
        this.iceServers = [];
        this.relayOnly = false;
        /** @type {'video'|'audio'} */
        this.mode = 'video';
        /** The person's consent: sound only keeps the camera off; audioFallback allows the switch. */
        this.consent = {modality: 'video', audioFallback: false};
        /** A link started: the page shows the call. */
        this.onstarted = () => {};
        /** The path died and signalling is down too: the page says whom to call. */
        this.onlost = () => {};
        /** @type {(mode: 'video'|'audio') => void} a group page went sound only (or back) on its own */
        this.onownmode = () => {};
        /** In a 1:1 call: the other person's name, and whether their camera is off. */
        this.peerName = '';
        this.peerCameraOff = false;
        this.noticeTimer = 0;
    }

    /**
     * A bar button's accessible name (its icon and short word stay): the action it does now.
     * @param {HTMLElement} button @param {string} name @param {string} [short]
     */
    static name(button, name, short) {
        button.setAttribute('aria-label', name);
        button.title = name;
        const label = button.querySelector('.short');
        if (short !== undefined && label) label.textContent = short;
    }

    /** @param {string} id */
    el(id) {
        return /** @type {HTMLElement} */ (document.getElementById(id));
    }

    /** Whether a peer connection is still open (then a reconnection resumes). */
    live() {
        return Array.from(this.links.values()).some(
            l => l.session !== null && l.session.pc.connectionState !== 'closed');
    }

    /** The camera and microphone, opened once for every link (one opening at a time). */
    openMedia(/** @type {string} */ wanted) {
        const next = this.opening.catch(() => null).then(() => this.openStream(wanted));
        this.opening = next;
        return next;
    }

    async openStream(/** @type {string} */ wanted) {
        const video = wanted === 'video';
        if (this.stream) {
            // Opened again for video only when no other link sends this stream (applyMode adds
            // a camera to a live stream instead).
            const sending = Array.from(this.links.values()).some(l => l.session !== null);
            if (!video || this.stream.getVideoTracks().length || sending) return this.stream;
            for (const t of this.stream.getTracks()) t.stop();
        }
        try {
            this.stream = await navigator.mediaDevices.getUserMedia({audio: true, video: video});
        } catch (e) {
            this.stream = await navigator.mediaDevices.getUserMedia({audio: true, video: false});
        }
        /** @type {HTMLVideoElement} */ (this.el('local-video')).srcObject = this.stream;
        this.el('local-video').hidden = !this.stream.getVideoTracks().length;
        return this.stream;
    }

    /**
     * Every video of the call playing: one given its stream while the call step was hidden may
     * have stayed paused (phones pause muted videos they do not show), the own camera's first.
     */
    playAll() {
        for (const video of Array.from(document.querySelectorAll('#call-step video')))
            if (/** @type {HTMLVideoElement} */ (video).paused && /** @type {HTMLVideoElement} */ (video).srcObject)
                /** @type {HTMLVideoElement} */ (video).play().catch(() => {});
    }

    /** Every link closed, the camera and microphone released. */
    stop() {
        for (const link of this.links.values()) CallView.close(link);
        this.links.clear();
        if (this.speaker) this.speaker.stop();
        this.speaker = null;
        if (this.grid) {
            this.grid.clear();
        } else {
            this.el('more-videos').replaceChildren();
            this.el('more-videos').hidden = true;
        }
        if (this.stream) for (const t of this.stream.getTracks()) t.stop();
        this.stream = null;
        /** @type {HTMLVideoElement} */ (this.el('local-video')).srcObject = null;
    }

    static close(/** @type {Link} */ link) {
        if (link.quality) link.quality.stop();
        if (link.session) link.session.close();
        window.clearTimeout(link.lostTimer);
    }

    /** Run fn on the link after what is already queued there; an error is logged, not fatal. */
    static enqueue(/** @type {Link} */ link, /** @type {() => Promise<void>} */ fn) {
        link.queue = link.queue.then(fn).catch(e => console.warn('proxima: link', link.peer, e));
    }

    /**
     * Where a new link shows and whether it leads to plan B, kept simple until the group layout
     * (a later issue): on the person's page, the link to the worker is the main one and the only
     * one whose dead path means the phone (today the only worker in a room is the host: a
     * colleague takes the host's id, protocol.md "Participant"); on the worker's page, the first
     * link is the main one and a dead path on any link means the phone, as in a 1:1.
     * @param {string} peer
     */
    placeOf(peer) {
        const taken = Array.from(this.links.values()).some(l => l.primary);
        const isWorker = window.ProximaClient.roleOf(peer) === 'worker';
        if (this.group)  // a person's plan B is their own: only a dead link to a worker means it
            return {primary: (this.role === 'person' ? isWorker : true) && !taken,
                    planB: this.role === 'person' && isWorker};
        return this.role === 'person' ? {primary: isWorker && !taken, planB: isWorker} :
            {primary: !taken, planB: true};
    }

    /** Where a link's video and status go: a tile in a group, else the 1:1 layout. */
    viewOf(/** @type {string} */ peer, /** @type {string} */ name, /** @type {boolean} */ primary) {
        if (this.grid) return this.grid.add(peer, name);
        return primary ?
            {video: /** @type {HTMLVideoElement} */ (this.el('remote-video')), status: this.el('peer-status')} :
            this.addVideo(peer, name);
    }

    /** Admitted with a peer: a new link, or that peer's again (a fresh page over there). */
    admitted(/** @type {Admission} */ a) {
        this.mode = a.mode === 'audio' ? 'audio' : 'video';
        const old = this.links.get(a.peer);
        if (old) {
            CallView.close(old);
            this.links.delete(a.peer);
        }
        const place = old ? {primary: old.primary, planB: old.planB} : this.placeOf(a.peer);
        if (place.primary && !this.grid) this.peerName = a.name;
        const view = old ? {video: old.video, status: old.status} :
            this.viewOf(a.peer, a.name, place.primary);
        /** @type {Link} */
        const link = {peer: a.peer, ...place, ...view, session: null, quality: null,
                      queue: Promise.resolve(), lostTimer: 0, poorReports: 0};
        this.links.set(a.peer, link);
        CallView.enqueue(link, () => this.start(link, a.polite));
    }

    /** A further participant's video, labelled with their name (#peer-video template). */
    addVideo(/** @type {string} */ peer, /** @type {string} */ name) {
        const template = /** @type {HTMLTemplateElement} */ (document.getElementById('peer-video'));
        const figure = /** @type {HTMLElement} */ (
            /** @type {DocumentFragment} */ (template.content.cloneNode(true)).firstElementChild);
        const video = /** @type {HTMLVideoElement} */ (figure.querySelector('video'));
        figure.dataset.peer = peer;
        video.setAttribute('aria-label', name || this.el('remote-video').getAttribute('aria-label') || '');
        /** @type {HTMLElement} */ (figure.querySelector('figcaption')).textContent = name;
        this.el('more-videos').append(figure);
        this.el('more-videos').hidden = false;
        return {video, status: /** @type {HTMLElement} */ (figure.querySelector('[role=status]'))};
    }

    async start(/** @type {Link} */ link, /** @type {boolean} */ polite) {
        const wanted = this.role === 'person' && this.consent.modality === 'audio' ? 'audio' : this.mode;
        const stream = await this.openMedia(wanted);
        if (this.links.get(link.peer) !== link) return;  // replaced, or the call stopped, meanwhile
        const session = new window.ProximaPeer({
            peer: link.peer, polite, iceServers: this.iceServers, relayOnly: this.relayOnly, stream,
            receiveVideo: this.receiveVideo, signal: s => this.client.signal(link.peer, s)});
        link.session = session;
        this.rebalance();
        this.watchSpeaker();
        session.ontrack = s => {
            link.video.srcObject = s;
            this.watchVideo(link.peer, s);
            if (link.primary && !this.grid) this.watchPrimary(s);
        };
        session.onincident = kind => this.client.incident(kind);
        session.onconnection = state => this.gotConnection(link, state);
        const quality = new window.ProximaQuality(session.pc, report => this.gotQuality(link, report));
        link.quality = quality;
        quality.expectVideo = this.expectsVideo();
        quality.onsilence = stage => {
            if (stage === 'restart') {
                session.restartIce();
            } else if (stage === 'dead' && link.planB) {  // nothing arrives: the phone, not sound only
                this.client.incident('no_media');
                this.connectionLost(link);
            }
        };
        if (this.mode === 'audio') await session.setAudioOnly(true);
        this.onstarted();
        this.playAll();
        this.updateModeButton();
    }

    /**
     * In a group, a tile whose video does not arrive (a member with sound only, or "don't
     * receive video" here) says "sound only" instead of showing a black picture.
     * @param {string} peer @param {MediaStream} stream
     */
    watchVideo(peer, stream) {
        const grid = this.grid, track = stream.getVideoTracks()[0];
        if (!grid) return;
        const update = () => grid.mark(peer, 'sound', !track || track.muted ? this.text('t-sound-only') : '');
        update();
        if (!track) return;  // the peer sends no video at all
        track.onmute = update;
        track.onunmute = update;
    }

    /**
     * Who speaks (speaker.js, when the page has it): a group's tile outlined; in a 1:1 call, the
     * sign under the other person's name when there is no picture.
     */
    watchSpeaker() {
        if (this.speaker || !window.ProximaSpeaker) return;
        this.speaker = new window.ProximaSpeaker(() => new Map(Array.from(this.links.values())
            .flatMap(l => l.session ? [[l.peer, l.session.pc]] : [])));
        const grid = this.grid;
        this.speaker.onchange = grid ? who => grid.speaking(who) : who => {
            const primary = Array.from(this.links.values()).find(l => l.primary);
            this.el('remote-audio').classList.toggle('speaking', !!primary && who === primary.peer);
        };
    }

    /** The other person's picture in a 1:1 call: when it stops, their name instead of black. */
    watchPrimary(/** @type {MediaStream} */ stream) {
        const track = stream.getVideoTracks()[0];
        if (track) {
            track.onmute = () => this.showPicture();
            track.onunmute = () => this.showPicture();
        }
        this.showPicture();
    }

    /**
     * A 1:1 call shows the other person's video, or (sound only, their camera off, no picture
     * arriving) their name, a big initial and a sign while they speak.
     */
    showPicture() {
        if (this.grid) return;
        const video = /** @type {HTMLVideoElement} */ (this.el('remote-video'));
        const stream = /** @type {MediaStream|null} */ (video.srcObject);
        const track = stream ? stream.getVideoTracks()[0] : undefined;
        const noPicture = this.mode === 'audio' || this.peerCameraOff || !track || track.muted;
        const box = this.el('remote-audio');
        box.hidden = !noPicture;
        const name = this.peerName || video.getAttribute('aria-label') || '';
        /** @type {HTMLElement} */ (box.querySelector('.peer-name')).textContent = name;
        /** @type {HTMLElement} */ (box.querySelector('.avatar')).textContent = name.charAt(0).toUpperCase();
    }

    /** A description or a candidate from a peer, after what its link is doing. */
    signal(/** @type {string} */ from, /** @type {SignalPayload} */ signal) {
        const link = this.links.get(from);
        if (link) CallView.enqueue(link, async () => { if (link.session) await link.session.gotSignal(signal); });
    }

    /** This page's signalling is back (after a cut): each link sends again what may be lost. */
    resumed() {
        for (const link of this.links.values())
            CallView.enqueue(link, async () => { if (link.session) link.session.resync(); });
    }

    /** A peer's signalling went away (it may come back; the link may even still work). */
    left(/** @type {string} */ peer) {
        const link = this.links.get(peer);
        if (link) link.status.textContent = this.text(this.group ? 't-tile-left' : 't-peer-left');
    }

    /** A peer's microphone or camera went on or off. */
    media(/** @type {MediaStateChange} */ m) {
        const link = this.links.get(m.from);
        if (link && this.group)  // a tile says it short, under the name
            link.status.textContent = [m.audio ? '' : this.text('t-tile-muted'),
                                       m.video ? '' : this.text('t-tile-cam-off')].filter(Boolean).join(' · ');
        else if (link) link.status.textContent = !m.audio ? this.text('t-muted') :
            !m.video ? this.text('t-cam-hidden') : this.text('t-peer-here');
        if (link && link.primary && !this.grid) {
            this.peerCameraOff = !m.video;
            this.showPicture();
        }
    }

    /** This page's microphone or camera on or off, on every link. */
    setTrack(/** @type {'mic'|'cam'} */ kind, /** @type {boolean} */ on) {
        for (const link of this.links.values()) {
            if (link.session && kind === 'mic') link.session.setMicrophone(on);
            else if (link.session) link.session.setCamera(on);
        }
    }

    /**
     * Each link's share of this browser's upstream, for the links that may carry media now (a
     * failed or closed one sends nothing).
     */
    rebalance() {
        const live = Array.from(this.links.values()).flatMap(l => l.session &&
            l.session.pc.connectionState !== 'failed' && l.session.pc.connectionState !== 'closed' ?
            [l.session] : []);
        const track = this.stream ? this.stream.getVideoTracks()[0] : undefined;
        const height = track ? track.getSettings().height || 0 : 0;
        const budget = window.ProximaPeer.budget(this.upstreamKbps, live.length, height);
        for (const session of live) session.setBudget(budget);
    }

    /** A participant is gone from the call for good (removed, withdrew): their link and tile. */
    drop(/** @type {string} */ peer) {
        const link = this.links.get(peer);
        if (link) {
            CallView.close(link);
            this.links.delete(peer);
        }
        if (this.grid) this.grid.remove(peer);
        this.rebalance();
    }

    /**
     * In a 1:1 interview, the persons' browsers still in the call (the lobby's admitted list):
     * a browser the worker's "Let in" replaced (its page was gone) loses its link, and its place
     * (the main video, first) goes to the next link. @param {string[]} inCall
     */
    keep(inCall) {
        if (this.group) return;
        for (const link of Array.from(this.links.values())) {
            if (inCall.includes(link.peer) || window.ProximaClient.roleOf(link.peer) !== 'person') continue;
            this.drop(link.peer);
            if (link.primary) {
                link.video.srcObject = null;
                link.status.textContent = '';
            } else {
                const figure = link.video.closest('figure');
                if (figure) figure.remove();
                this.el('more-videos').hidden = !this.el('more-videos').childElementCount;
            }
        }
    }

    /**
     * Whether a link's quality counts the video received: not in a group, where a sound-only
     * member sends none (its link would look weak and switch this page to sound only).
     */
    expectsVideo() {
        return !this.group && this.mode === 'video' && this.receiveVideo;
    }

    /** Receive the others' video or not (a weak device), on every link and the next ones. */
    setReceiveVideo(/** @type {boolean} */ on) {
        this.receiveVideo = on;
        for (const link of this.links.values()) {
            if (link.session) link.session.setReceiveVideo(on);
            if (link.quality) link.quality.expectVideo = this.expectsVideo();
        }
    }

    gotConnection(/** @type {Link} */ link, /** @type {string} */ state) {
        if (state === 'failed' || state === 'closed' || state === 'connected') this.rebalance();
        if (state === 'connected') {
            window.clearTimeout(link.lostTimer);
            link.lostTimer = 0;
            if (!this.group) link.status.textContent = this.text('t-peer-here');
            else if (link.status.textContent === this.text('t-tile-left')) link.status.textContent = '';
        } else if ((state === 'disconnected' || state === 'failed') && !link.lostTimer && link.planB) {
            link.lostTimer = window.setTimeout(() => this.connectionLost(link), 10000);
        }
    }

    /** Nothing arrives any more (or ICE stayed down about 10 s): plan B by phone. */
    connectionLost(/** @type {Link} */ link) {
        window.clearTimeout(link.lostTimer);
        link.lostTimer = 0;
        const s = link.session;
        if (s && s.pc.connectionState === 'connected' && !(link.quality && link.quality.silent)) return;
        if (!this.client.fallback('connection_lost')) this.onlost();
    }

    gotQuality(/** @type {Link} */ link, /** @type {QualityReport} */ report) {
        if (link.primary) {
            const q = this.el('quality');
            q.textContent = this.text('t-q-' + report.level);
            q.dataset.level = report.level;
            q.dataset.framesDecoded = String(report.framesDecoded);
        }
        if (!link.planB) return;
        if (report.level === 'poor' && this.mode === 'video') {
            link.poorReports += 1;
            if (link.poorReports === 2) {
                this.client.incident('poor_quality');
                if (this.role === 'person' && this.consent.audioFallback)
                    this.askMode('audio', 'poor_quality');
                else
                    this.notice(this.text('t-q-poor'));
            }
        } else {
            link.poorReports = 0;
        }
    }

    /** A notice over the video, gone after a while (it said what changed; the bar shows it). */
    notice(/** @type {string} */ message) {
        const el = this.el('modality-notice');
        el.textContent = message;
        el.hidden = false;
        window.clearTimeout(this.noticeTimer);
        this.noticeTimer = window.setTimeout(() => { el.hidden = true; }, 12000);
    }

    updateModeButton() {
        const b = this.el('btn-audio-only');
        CallView.name(b, this.text(this.mode === 'audio' ? 't-to-video' : 't-to-audio'),
                      this.text(this.mode === 'audio' ? 't-short-video' : 't-short-audio'));
        b.setAttribute('aria-pressed', String(this.mode === 'audio'));
        this.showPicture();
    }

    /**
     * Sound only (or video again), asked by the button or a weak connection: in a 1:1 interview
     * the whole call switches (the server tells both sides); in a group it is this page's own
     * (it stops sending video on every link; the others are told its camera is off).
     * @param {'video'|'audio'} mode @param {string} reason
     */
    askMode(mode, reason) {
        if (!this.group) {
            this.client.modality(mode, reason);
            return;
        }
        this.applyMode(mode);
        this.onownmode(mode);
    }

    /** Video or sound only, on every link (replaceTrack: no renegotiation). */
    async applyMode(/** @type {'video'|'audio'} */ mode) {
        this.mode = mode;
        const sessions = Array.from(this.links.values()).flatMap(l => l.session ? [l.session] : []);
        const stream = this.stream;
        if (mode === 'video' && sessions.length && stream && !stream.getVideoTracks().length &&
            !(this.role === 'person' && this.consent.modality === 'audio')) {
            const camera = await navigator.mediaDevices.getUserMedia({video: true});
            const track = camera.getVideoTracks()[0];
            stream.addTrack(track);
            for (const session of sessions) {
                const sender = session.videoSender();
                if (sender) await sender.replaceTrack(track);
            }
        }
        for (const link of this.links.values()) {
            if (link.session) await link.session.setAudioOnly(mode === 'audio');
            if (link.quality) link.quality.expectVideo = this.expectsVideo();
        }
        // Sound only releases the camera (its light goes off; no picture of oneself that looks
        // sent); video opens it again above.
        if (mode === 'audio' && stream) {
            for (const track of stream.getVideoTracks()) {
                track.stop();
                stream.removeTrack(track);
            }
        }
        this.el('local-video').hidden = !(stream && stream.getVideoTracks().length);
        this.notice(this.text(mode === 'audio' ? 't-mode-audio' : 't-mode-video'));
        this.updateModeButton();
    }
}

window.ProximaCall = CallView;
