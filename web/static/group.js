// @ts-check
/**
 * What every page in a group session's call shows and does, the person's and the workers': the
 * raised hands in order and who has the floor (on the tiles and in a sentence), "Raise my hand",
 * the sound-and-camera round when it is this page's turn, the break screen with its countdown
 * (camera and microphone off, then back on only if they were on), being asked to mute, and
 * "Don't receive video". A UI piece of interview.js: it is given the protocol layer's typed
 * values and calls its methods; it never reads or builds a wire message.
 */
'use strict';

class GroupView {
    /**
     * @param {{client: ProximaClient, call: CallView,
     *          text: (id: string, values?: Record<string, string>) => string,
     *          device: (kind: 'mic'|'cam', on?: boolean) => boolean}} options
     *   device(kind) says whether the microphone or camera is on; device(kind, on) switches it
     *   (and tells the others), as the page's own buttons do.
     */
    constructor(options) {
        this.client = options.client;
        this.call = options.call;
        this.text = options.text;
        this.device = options.device;
        /** @type {GroupState|null} the last state of the group's call */
        this.state = null;
        /** @type {GroupInfo|null} what welcome said of the group (its agenda...) */
        this.info = null;
        this.handUp = false;
        /** What was on before the break: switched back on after it. */
        this.beforeBreak = {mic: false, cam: false};
        this.inBreak = false;
        this.breakEnds = 0;  // performance.now() at the end of the countdown
        this.breakTimer = 0;
    }

    /** @param {string} id @returns {any} */
    $(id) {
        return document.getElementById(id);
    }

    /** The buttons every member of the call has in a group. */
    wire() {
        const click = (/** @type {string} */ id, /** @type {() => void} */ action) => {
            const button = this.$(id);
            if (button) button.addEventListener('click', action);
        };
        click('btn-hand', () => { if (this.handUp) this.client.lowerMyHand(); else this.client.raiseHand(); });
        click('btn-no-video', () => this.toggleVideo());
        click('btn-round-ok', () => this.client.roundCheck(true, true));
        click('btn-round-no-sound', () => this.client.roundCheck(false, true));
        click('btn-round-no-video', () => this.client.roundCheck(true, false));
    }

    /** "Don't receive video" (a weak device), and back. */
    toggleVideo() {
        const button = this.$('btn-no-video');
        const off = button.getAttribute('aria-pressed') !== 'true';
        button.setAttribute('aria-pressed', String(off));
        window.ProximaCall.name(button, this.text(off ? 't-video-off' : 't-video-on'));
        this.call.setReceiveVideo(!off);
        this.call.notice(off ? this.text('t-no-video') : this.text('t-mode-video'));
    }

    /** The group's call changed: hands, the floor, the round, a break. @param {GroupState} s */
    gotState(s) {
        this.state = s;
        const me = this.client.id;
        const grid = this.call.grid;
        if (grid) {
            grid.clearMarks('hand');
            grid.clearMarks('floor');
            s.hands.forEach((h, i) => grid.mark(h.id === me ? 'self' : h.id, 'hand',
                                                this.text('t-hand-mark', {place: String(i + 1)})));
            if (s.floor) grid.mark(s.floor.id === me ? 'self' : s.floor.id, 'floor', this.text('t-floor-mark'));
        }
        const place = s.hands.findIndex(h => h.id === me) + 1;
        this.handUp = place > 0;
        const hand = this.$('btn-hand');
        if (hand) {
            hand.setAttribute('aria-pressed', String(this.handUp));
            window.ProximaCall.name(hand, this.text(this.handUp ? 't-hand-up' : 't-hand-down'));
        }
        const floor = !s.floor ? '' : s.floor.id === me ? this.text('t-floor-you') :
            this.text('t-floor-other', {name: s.floor.name});
        const queue = place ? this.text('t-your-place', {place: String(place)}) : s.hands.length ?
            this.text('t-hands', {names: s.hands.map(h => h.name).join(', ')}) : '';
        this.$('floor-status').textContent = [floor, queue].filter(Boolean).join(' ');
        const item = this.info && s.agendaItem >= 0 ? this.info.agenda[s.agendaItem] : undefined;
        this.$('agenda-status').textContent = item ? this.text('t-agenda-now', {item: item.title}) : '';
        this.gotRound(s.round);
        if (s.break && !this.inBreak) this.gotBreak(s.break);
    }

    /**
     * The sound-and-camera round: this page's turn shows the questions.
     * @param {{current: string, entries: RoundEntry[]}|null} round
     */
    gotRound(round) {
        const me = this.client.id;
        const box = this.$('round-box');
        const mine = round !== null && round.current === me;
        if (box) box.hidden = !mine;
        const current = round ? round.entries.find(e => e.id === round.current) : undefined;
        this.$('round-status').textContent = !round ? '' : mine ? this.text('t-round-you') :
            current ? this.text('t-round-other', {name: current.name}) : '';
    }

    /** A break: camera and microphone off, the break screen and its countdown. @param {BreakInfo} b */
    gotBreak(b) {
        if (!this.inBreak) {
            this.beforeBreak = {mic: this.device('mic'), cam: this.device('cam')};
            this.inBreak = true;
        }
        if (this.device('mic')) this.device('mic', false);
        if (this.device('cam')) this.device('cam', false);
        this.breakEnds = performance.now() + b.remainingSeconds * 1000;
        this.$('break-screen').hidden = false;
        window.clearInterval(this.breakTimer);
        this.tick();
        this.breakTimer = window.setInterval(() => this.tick(), 1000);
    }

    /** The countdown, as minutes:seconds left. */
    tick() {
        const left = Math.max(0, Math.round((this.breakEnds - performance.now()) / 1000));
        const time = Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0');
        this.$('break-countdown').textContent = left ?
            this.text('t-break-left', {time}) : this.text('t-break-soon');
        this.$('break-countdown').dataset.seconds = String(left);
    }

    /** Everyone back: only what was on before the break is switched on again. */
    gotBreakOver() {
        window.clearInterval(this.breakTimer);
        this.$('break-screen').hidden = true;
        if (!this.inBreak) return;
        this.inBreak = false;
        if (this.beforeBreak.mic && !this.device('mic')) this.device('mic', true);
        if (this.beforeBreak.cam && !this.device('cam')) this.device('cam', true);
    }

    /** Asked to mute: the microphone goes off, and a plain notice says who asked. @param {Someone} m */
    gotMuteRequest(m) {
        if (this.device('mic')) this.device('mic', false);
        if (this.inBreak) this.beforeBreak.mic = false;
        const notice = this.$('mute-notice');
        notice.textContent = this.text('t-muted-by', {name: m.name});
        notice.hidden = false;
    }

    stop() {
        window.clearInterval(this.breakTimer);
    }
}

window.ProximaGroup = GroupView;
