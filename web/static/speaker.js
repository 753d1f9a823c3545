// @ts-check
/**
 * Who is speaking in a room, from the audio levels of getStats, DOM-free: each link's received
 * sound (inbound-rtp audioLevel) and this page's own microphone (media-source audioLevel). Twice a
 * second the loudest voice above a threshold is the active speaker; it must stay the loudest for
 * two looks before the highlight moves, so a cough does not make it jump. onchange gets the
 * peer's id, 'self', or '' when nobody speaks.
 */
'use strict';

const SPEAKING_LEVEL = 0.02;  // audioLevel is 0..1 (linear); silence stays under 0.01
const SPEAKER_HOLD = 2;  // looks in a row before the highlight moves

class ActiveSpeaker {
    /** @param {() => Map<string, RTCPeerConnection>} links  each peer's connection, now */
    constructor(links) {
        this.links = links;
        /** @type {(who: string) => void} */
        this.onchange = () => {};
        this.current = '';
        this.candidate = '';
        this.seen = 0;
        this.timer = window.setInterval(() => this.gotTick(), 500);
    }

    /** The loudest level of each peer (and of 'self'), now. */
    async levels() {
        /** @type {Map<string, number>} */
        const levels = new Map();
        let self = 0;
        for (const [peer, pc] of this.links()) {
            if (pc.connectionState === 'closed') continue;
            const stats = await pc.getStats();
            stats.forEach(s => {
                if (s.type === 'inbound-rtp' && s.kind === 'audio')
                    levels.set(peer, Math.max(levels.get(peer) || 0, s.audioLevel || 0));
                if (s.type === 'media-source' && s.kind === 'audio')
                    self = Math.max(self, s.audioLevel || 0);
            });
        }
        levels.set('self', self);
        return levels;
    }

    async gotTick() {
        let loudest = '', top = SPEAKING_LEVEL;
        for (const [who, level] of await this.levels()) {
            if (level > top) {
                loudest = who;
                top = level;
            }
        }
        this.seen = loudest === this.candidate ? this.seen + 1 : 1;
        this.candidate = loudest;
        if (this.seen >= SPEAKER_HOLD && loudest !== this.current) {
            this.current = loudest;
            this.onchange(loudest);
        }
    }

    stop() {
        window.clearInterval(this.timer);
    }
}

window.ProximaSpeaker = ActiveSpeaker;
