// @ts-check
/**
 * One browser-to-browser link with perfect negotiation (the server says who is polite), after
 * webrtc/samples. To avoid glare at the start, the impolite side makes the first offer and the
 * polite side waits for it; after that, either side renegotiates (ICE restart, tracks). DOM-free:
 * the transport is injected (signal, which the page binds to the protocol layer's
 * signal(peer, ...)), remote media is handed to ontrack.
 * Remote ICE candidates are buffered until the remote description is set. Bitrates are capped:
 * video around 500 kbit/s, audio (Opus) around 32 kbit/s; in a room, each browser's total
 * upstream is shared by its links (PeerSession.budget; the page sets each link's with setBudget).
 */
'use strict';

const VIDEO_MAX_BITRATE = 500000;
const AUDIO_MAX_BITRATE = 32000;
/** The share of a link's budget the encoders aim at: the rest is for packet headers and RTCP. */
const PAYLOAD_SHARE = 0.9;
/** From this many links on, video goes at 240 lines (320x240 from a 640x480 camera). */
const SMALL_VIDEO_LINKS = 3;
const SMALL_VIDEO_HEIGHT = 240;
/** From that many links on, video also goes at 15 frames a second: a phone encodes one video per
 * link in a mesh, and at a link's small bitrate fewer, sharper frames read better. */
const SMALL_VIDEO_FRAMERATE = 15;
/** An offer not answered after this long is sent again: it or its answer may have been lost on
 * the way (a page without its socket sends nothing; the server drops what it cannot deliver). */
const OFFER_RESEND_MS = 10000;

/**
 * What one link may send: video bitrate (bit/s), how much to scale the camera down, and at most
 * how many frames a second (0: the camera's own rate).
 * @typedef {{videoBitrate: number, scale: number, framerate: number}} LinkBudget
 */

class PeerSession {
    /**
     * @param {{peer: string, polite: boolean, iceServers: RTCIceServer[],
     *          signal: (s: SignalPayload) => void, stream: MediaStream, relayOnly?: boolean,
     *          receiveVideo?: boolean}} options
     */
    constructor(options) {
        this.peer = options.peer;
        this.polite = options.polite;
        this.signal = options.signal;
        this.stream = options.stream;
        this.pc = new RTCPeerConnection({
            iceServers: options.iceServers,
            iceTransportPolicy: options.relayOnly ? 'relay' : 'all',
        });
        this.makingOffer = false;
        this.ignoreOffer = false;
        this.settingRemoteAnswer = false;
        /** The polite side only offers once it has answered the first offer. */
        this.started = !options.polite;
        /** @type {RTCIceCandidateInit[]} */
        this.pendingCandidates = [];
        this.audioOnly = false;
        /** @type {LinkBudget} this link's share of the upstream (setBudget) */
        this.budget = {videoBitrate: VIDEO_MAX_BITRATE, scale: 1, framerate: 0};
        /** Whether this side receives the peer's video ("don't receive video": setReceiveVideo). */
        this.receivingVideo = options.receiveVideo !== false;
        /** @type {(stream: MediaStream) => void} */
        this.ontrack = () => {};
        /** @type {(state: string) => void} */
        this.onconnection = () => {};
        /** @type {(kind: string) => void} */
        this.onincident = () => {};
        /** @type {number|undefined} */
        this.disconnectedTimer = undefined;
        /** @type {number|undefined} */
        this.resendTimer = undefined;

        for (const track of this.stream.getTracks())
            this.pc.addTrack(track, this.stream);
        if (!this.stream.getVideoTracks().length)
            this.pc.addTransceiver('video', {direction: 'recvonly'});
        // Set before the first offer or answer, so that no renegotiation is needed for it.
        if (!this.receivingVideo) this.setReceiveVideo(false);

        this.pc.onnegotiationneeded = async () => {
            if (!this.started) return;
            try {
                this.makingOffer = true;
                await this.pc.setLocalDescription();
                this.sendDescription();
                this.resendOffer();
            } catch (e) {
                console.warn('negotiation failed', e);
            } finally {
                this.makingOffer = false;
            }
        };
        this.pc.onicecandidate = ({candidate}) => {
            if (candidate)
                this.signal({candidate: candidate.toJSON()});
        };
        this.pc.ontrack = ({streams, track}) => {
            this.ontrack(streams[0] || new MediaStream([track]));
        };
        this.pc.oniceconnectionstatechange = () => this.gotIceState();
        this.pc.onconnectionstatechange = () => {
            this.onconnection(this.pc.connectionState);
            if (this.pc.connectionState === 'connected')
                this.capBitrates();
        };
    }

    sendDescription() {
        const d = this.pc.localDescription;
        if (d) this.signal({description: {type: d.type, sdp: d.sdp}});
    }

    /** A description or a candidate from our peer (relayed by the server). */
    async gotSignal(/** @type {SignalPayload} */ msg) {
        const pc = this.pc;
        try {
            if (msg.description) {
                const description = msg.description;
                const readyForOffer = !this.makingOffer &&
                    (pc.signalingState === 'stable' || this.settingRemoteAnswer);
                const collision = description.type === 'offer' && !readyForOffer;
                this.ignoreOffer = !this.polite && collision;
                if (this.ignoreOffer)
                    return;
                if (description.type === 'answer' && pc.signalingState === 'stable')
                    return;  // a second answer to an offer sent again (resendOffer)
                this.settingRemoteAnswer = description.type === 'answer';
                try {
                    await pc.setRemoteDescription(description);
                } finally {
                    this.settingRemoteAnswer = false;
                }
                for (const c of this.pendingCandidates.splice(0))
                    await pc.addIceCandidate(c).catch(() => {});
                if (description.type === 'offer') {
                    await pc.setLocalDescription();
                    this.sendDescription();
                    // From now on this side may offer too; the browser fires negotiationneeded
                    // again for anything the first offer did not cover.
                    this.started = true;
                }
            } else if (msg.candidate) {
                if (!pc.remoteDescription) {
                    this.pendingCandidates.push(msg.candidate);
                    return;
                }
                try {
                    await pc.addIceCandidate(msg.candidate);
                } catch (e) {
                    if (!this.ignoreOffer) throw e;
                }
            }
        } catch (e) {
            console.warn('signal failed', e);
        }
    }

    /**
     * An offer or its answer may be lost on the way (a page without its socket sends nothing;
     * the server drops what it cannot deliver), and an offer without its answer would leave
     * this link waiting for ever: a restart on a network change, which cuts the socket too,
     * would never complete. So an offer still waiting after OFFER_RESEND_MS is sent again (it
     * carries its candidates); the peer answers it (again, if it had answered already: the
     * second answer finds this side stable and is ignored in gotSignal).
     */
    resendOffer() {
        window.clearTimeout(this.resendTimer);
        this.resendTimer = window.setTimeout(() => {
            if (this.pc.signalingState !== 'have-local-offer') return;
            this.sendDescription();
            this.resendOffer();
        }, OFFER_RESEND_MS);
    }

    /** The signalling came back after a cut: an offer still waiting is sent again now. */
    resync() {
        if (this.pc.signalingState === 'have-local-offer') this.sendDescription();
    }

    /** ICE went wrong: restart it (a network change, a Wi-Fi / 4G switch). */
    gotIceState() {
        const state = this.pc.iceConnectionState;
        window.clearTimeout(this.disconnectedTimer);
        if (state === 'failed') {
            this.restartIce();
        } else if (state === 'disconnected') {
            this.disconnectedTimer = window.setTimeout(() => {
                if (this.pc.iceConnectionState === 'disconnected') this.restartIce();
            }, 3000);
        }
    }

    restartIce() {
        this.onincident('ice_restart');
        this.pc.restartIce();
    }

    /**
     * One link's share of a browser's total upstream: the budget divided by the links, less the
     * sound (32 kbit/s) and a tenth for headers, never over the 1:1 cap of 500 kbit/s; from 3
     * links on, the camera is scaled down to 240 lines (320x240) at 15 frames a second.
     * @param {number} totalKbps  the browser's whole upstream (setting upstream_kbps)
     * @param {number} links  how many links share it
     * @param {number} height  the camera's height in pixels (0 when unknown)
     * @returns {LinkBudget}
     */
    static budget(totalKbps, links, height) {
        const perLink = totalKbps * 1000 / Math.max(1, links);
        const video = Math.min(VIDEO_MAX_BITRATE, perLink * PAYLOAD_SHARE - AUDIO_MAX_BITRATE);
        const small = links >= SMALL_VIDEO_LINKS && height > SMALL_VIDEO_HEIGHT;
        return {videoBitrate: Math.max(30000, Math.round(video)),
                scale: small ? height / SMALL_VIDEO_HEIGHT : 1,
                framerate: links >= SMALL_VIDEO_LINKS ? SMALL_VIDEO_FRAMERATE : 0};
    }

    /** This link's share of the upstream, applied now (and again once connected). */
    async setBudget(/** @type {LinkBudget} */ budget) {
        this.budget = budget;
        await this.capBitrates();
    }

    async capBitrates() {
        for (const sender of this.pc.getSenders()) {
            if (!sender.track) continue;
            const params = sender.getParameters();
            if (!params.encodings || !params.encodings.length) continue;  // not negotiated yet
            const video = sender.track.kind === 'video';
            params.encodings[0].maxBitrate = video ? this.budget.videoBitrate : AUDIO_MAX_BITRATE;
            if (video) {
                params.encodings[0].scaleResolutionDownBy = this.budget.scale;
                if (this.budget.framerate) params.encodings[0].maxFramerate = this.budget.framerate;
                else delete params.encodings[0].maxFramerate;
            }
            try {
                await sender.setParameters(params);
            } catch (e) {
                console.warn('bitrate cap refused', e);
            }
        }
    }

    /**
     * Receive the peer's video or not (a weak device): the video transceiver's direction, so
     * the next negotiation tells the peer's browser to stop (or start again) sending video on
     * this link; what this side sends does not change.
     * @param {boolean} on
     */
    setReceiveVideo(on) {
        this.receivingVideo = on;
        for (const t of this.pc.getTransceivers()) {
            if (t.receiver.track.kind !== 'video' || t.currentDirection === 'stopped') continue;
            const sends = t.direction === 'sendrecv' || t.direction === 'sendonly';
            t.direction = on ? (sends ? 'sendrecv' : 'recvonly') : (sends ? 'sendonly' : 'inactive');
        }
    }

    /** Sound only: stop sending video (the other side stops receiving it). */
    async setAudioOnly(/** @type {boolean} */ on) {
        this.audioOnly = on;
        const video = this.stream.getVideoTracks()[0] || null;
        for (const sender of this.pc.getSenders()) {
            if (sender.track ? sender.track.kind === 'video' : sender === this.videoSender())
                await sender.replaceTrack(on ? null : video);
        }
    }

    videoSender() {
        const t = this.pc.getTransceivers().find(t => t.receiver.track.kind === 'video');
        return t ? t.sender : null;
    }

    setMicrophone(/** @type {boolean} */ on) {
        for (const track of this.stream.getAudioTracks()) track.enabled = on;
    }

    setCamera(/** @type {boolean} */ on) {
        for (const track of this.stream.getVideoTracks()) track.enabled = on;
    }

    close() {
        window.clearTimeout(this.disconnectedTimer);
        window.clearTimeout(this.resendTimer);
        this.pc.close();
    }
}

window.ProximaPeer = PeerSession;
