// @ts-check
/**
 * Connection quality from getStats, DOM-free: round-trip time, loss, bitrate received, frames
 * decoded, and a level ('good' | 'fair' | 'poor') from thresholds kept here, in one place.
 */
'use strict';

const QUALITY = {
    poor: {rtt: 0.5, loss: 0.10, videoKbps: 60},
    fair: {rtt: 0.25, loss: 0.03, videoKbps: 200},
};

class QualityMonitor {
    /**
     * @param {RTCPeerConnection} pc
     * @param {(report: {rtt: number, loss: number, kbps: number, framesDecoded: number,
     *          level: string}) => void} onreport
     */
    constructor(pc, onreport) {
        this.pc = pc;
        this.onreport = onreport;
        this.previous = {bytes: 0, packets: 0, lost: 0, time: 0};
        this.expectVideo = true;
        this.timer = window.setInterval(() => this.gotTick(), 2000);
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
        const videoKbps = seconds ? (videoBytes - (p.videoBytes || 0)) * 8 / 1000 / seconds : 0;
        this.previous = {bytes, packets, lost, time: now, videoBytes};
        if (!seconds) return;
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
    }
}

window.ProximaQuality = QualityMonitor;
