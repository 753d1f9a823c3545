// @ts-check
/**
 * Connection quality from getStats, DOM-free: round-trip time, loss, bitrate received, frames
 * decoded, and a level ('good' | 'fair' | 'poor') from thresholds kept here, in one place.
 *
 * It also watches whether media arrives at all: every participant sends sound (a muted
 * microphone still sends silence, a camera turned off still sends black frames), so when no RTP
 * packet at all arrives for DEAD_PATH.restartAfter seconds the path is dead, not weak:
 * onsilence('restart') asks for an ICE restart, and after DEAD_PATH.phoneAfter seconds
 * onsilence('dead') asks for the phone. ICE itself takes 5 to 8 s to say 'disconnected'.
 * A dead path is never reported as 'poor' (which would first switch to sound only).
 */
'use strict';

const DEAD_PATH = {restartAfter: 3, phoneAfter: 6};

const QUALITY = {
    poor: {rtt: 0.5, loss: 0.10, videoKbps: 60},
    fair: {rtt: 0.25, loss: 0.03, videoKbps: 200},
};

/**
 * @typedef {{rtt: number, loss: number, kbps: number, framesDecoded: number, level: string}} QualityReport
 */

class QualityMonitor {
    /**
     * @param {RTCPeerConnection} pc
     * @param {(report: QualityReport) => void} onreport
     */
    constructor(pc, onreport) {
        this.pc = pc;
        this.onreport = onreport;
        this.previous = {bytes: 0, packets: 0, lost: 0, time: 0, videoBytes: 0};
        this.expectVideo = true;
        /** @type {(stage: string) => void} 'restart' then 'dead' while nothing arrives; 'back' */
        this.onsilence = () => {};
        this.silentSince = 0;
        this.silenceStage = '';
        this.lastPackets = -1;
        this.timer = window.setInterval(() => this.gotTick(), 2000);
        this.watch = window.setInterval(() => this.gotWatch(), 1000);
    }

    /** Once a second: has any packet arrived since the last look? */
    async gotWatch() {
        if (this.pc.connectionState === 'closed') return this.stop();
        const stats = await this.pc.getStats();
        let packets = 0;
        stats.forEach(s => { if (s.type === 'inbound-rtp') packets += s.packetsReceived || 0; });
        const now = performance.now();
        const first = this.lastPackets < 0;
        const moved = packets !== this.lastPackets;
        this.lastPackets = packets;
        if (first || packets === 0) return;  // nothing ever arrived yet: not a cut
        if (moved) {
            if (this.silenceStage) this.onsilence('back');
            this.silentSince = 0;
            this.silenceStage = '';
            return;
        }
        if (!this.silentSince) this.silentSince = now;
        const silent = (now - this.silentSince) / 1000 + 1;  // the second before the first look
        if (silent >= DEAD_PATH.phoneAfter && this.silenceStage !== 'dead') {
            this.silenceStage = 'dead';
            this.onsilence('dead');
        } else if (silent >= DEAD_PATH.restartAfter && !this.silenceStage) {
            this.silenceStage = 'restart';
            this.onsilence('restart');
        }
    }

    /** Whether media stopped arriving (then quality means nothing). */
    get silent() {
        return this.silenceStage !== '';
    }

    async gotTick() {
        if (this.pc.connectionState === 'closed') return this.stop();
        const stats = await this.pc.getStats();
        let rtt = 0, bytes = 0, packets = 0, lost = 0, framesDecoded = 0, videoBytes = 0;
        stats.forEach(s => {
            if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded')
                rtt = s.currentRoundTripTime || rtt;
            if (s.type === 'inbound-rtp') {
                bytes += s.bytesReceived || 0;
                packets += s.packetsReceived || 0;
                lost += Math.max(0, s.packetsLost || 0);
                if (s.kind === 'video') {
                    framesDecoded += s.framesDecoded || 0;
                    videoBytes += s.bytesReceived || 0;
                }
            }
        });
        const now = performance.now();
        const p = this.previous;
        const seconds = p.time ? (now - p.time) / 1000 : 0;
        const kbps = seconds ? (bytes - p.bytes) * 8 / 1000 / seconds : 0;
        const dPackets = packets - p.packets, dLost = lost - p.lost;
        const loss = dPackets + dLost > 0 ? dLost / (dPackets + dLost) : 0;
        const videoKbps = seconds ? (videoBytes - p.videoBytes) * 8 / 1000 / seconds : 0;
        this.previous = {bytes, packets, lost, time: now, videoBytes};
        if (!seconds || this.silent || dPackets === 0) return;  // dead, not weak: see gotWatch
        this.onreport({rtt, loss, kbps, framesDecoded,
                       level: QualityMonitor.level(rtt, loss, this.expectVideo ? videoKbps : null)});
    }

    /**
     * @param {number} rtt seconds
     * @param {number} loss 0..1
     * @param {number|null} videoKbps null when no video is expected
     */
    static level(rtt, loss, videoKbps) {
        const worse = (/** @type {{rtt: number, loss: number, videoKbps: number}} */ t) =>
            rtt > t.rtt || loss > t.loss || (videoKbps !== null && videoKbps < t.videoKbps);
        if (worse(QUALITY.poor)) return 'poor';
        if (worse(QUALITY.fair)) return 'fair';
        return 'good';
    }

    stop() {
        window.clearInterval(this.timer);
        window.clearInterval(this.watch);
    }
}

window.ProximaQuality = QualityMonitor;
