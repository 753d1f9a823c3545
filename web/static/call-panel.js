// @ts-check
/**
 * The worker's call panel on the live page of a 1:1 interview (issue 11, item 4), beside the call:
 *
 * - the timer against the planned duration ("Commencer et terminer à l'heure"): elapsed / planned,
 *   with a sign when the planned end is near (5 minutes) or passed. It counts from the session's
 *   start: the page is served with the elapsed seconds of a session in progress (the server's
 *   figure, as in `welcome.session.elapsedSeconds`), and a call that starts on this page starts
 *   it at zero;
 * - the private notes: sent whole to the server a moment after the last key (sealed there, read
 *   back by a reload), retried with a growing delay when the server cannot be reached, never
 *   lost from the page; when the call ends they fill the closing form's summary notes;
 * - "Postpone": a confirmation in the panel (no browser dialog), then interview.js sends the end
 *   as postponed and, once the page shows the end, this opens the appointment's form to choose
 *   the new date.
 *
 * It follows the page's steps (shown by interview.js) by watching their `hidden` attribute, so it
 * needs no hook in the call's code: in the call (or on the phone) the postpone button and the
 * in-call waiting list (lobby.js fills it) show; at the closing step the panel goes.
 */
'use strict';

/** Seconds before the planned end when the timer says that the end is near. */
const NEAR_END_SECONDS = 5 * 60;
/** Saving the notes: the pause after the last key, and how often a failed save is tried again. */
const NOTES_PAUSE_MS = 800;
const NOTES_RETRIES = 6;

class CallPanel {
    /** @param {HTMLElement} root  #call-panel */
    constructor(root) {
        this.root = root;
        this.planned = Number(root.dataset.plannedSeconds) || 0;
        /** When the session started, on this page's clock (performance.now()); null before. */
        this.startedAt = root.dataset.sessionActive === 'true' ?
            performance.now() - 1000 * (Number(root.dataset.elapsedSeconds) || 0) : null;
        this.tickTimer = 0;
        this.notes = /** @type {HTMLTextAreaElement|null} */ (document.getElementById('call-notes'));
        /** The text the server holds. */
        this.saved = this.notes ? this.notes.value : '';
        this.saveTimer = 0;
        this.retries = 0;
        /** @type {Promise<void>|null} a save under way */
        this.saving = null;
        this.postponing = false;
        this.step = '';
    }

    /** @param {string} id */
    $(id) {
        return /** @type {HTMLElement} */ (document.getElementById(id));
    }

    /** A text from its <template>, with {placeholders} filled. */
    text(/** @type {string} */ id, /** @type {Record<string, string>} */ values = {}) {
        const t = /** @type {HTMLTemplateElement|null} */ (document.getElementById(id));
        let s = t ? (t.content.textContent || '').trim() : '';
        for (const [k, v] of Object.entries(values)) s = s.replace('{' + k + '}', v);
        return s;
    }

    start() {
        this.watchSteps();
        if (this.notes) {
            const notes = this.notes;
            notes.addEventListener('input', () => this.typed());
            window.addEventListener('pagehide', () => this.saveOnLeaving());
        }
        this.$('btn-postpone').addEventListener('click', () => this.askPostpone(true));
        this.$('btn-postpone-no').addEventListener('click', () => this.askPostpone(false));
        // interview.js sends the end itself (it holds the connection); here, what follows. The
        // button stays usable: if the connection was down, a second click sends it again (a
        // session already ended only answers no_session).
        this.$('btn-postpone-yes').addEventListener('click', () => { this.postponing = true; });
        if (this.startedAt !== null) this.runTimer();
    }

    // -- the page's steps ---------------------------------------------------------------------

    watchSteps() {
        const steps = /** @type {HTMLElement[]} */ (
            Array.from(document.querySelectorAll('#interview [data-step]')));
        const update = () => {
            const shown = steps.find(s => !s.hidden);
            this.stepShown(shown ? shown.id : '');
        };
        const observer = new MutationObserver(update);
        for (const step of steps) observer.observe(step, {attributes: true, attributeFilter: ['hidden']});
        update();
    }

    /** @param {string} id  the step now shown */
    stepShown(id) {
        if (id === this.step) return;
        this.step = id;
        const inCall = id === 'call-step' || id === 'phone-step';
        this.root.toggleAttribute('data-in-call', inCall);
        this.$('postpone-box').hidden = !inCall;
        if (inCall && this.startedAt === null) {
            this.startedAt = performance.now();
            this.runTimer();
        }
        if (id === 'closing-step') this.callEnded();
    }

    /** The call is over: the notes go to the closing form (or, postponed, to the new date). */
    async callEnded() {
        window.clearInterval(this.tickTimer);
        this.root.hidden = true;
        const closing = /** @type {HTMLTextAreaElement|null} */ (document.getElementById('notes'));
        if (this.notes && closing && closing.value === closing.defaultValue)
            closing.value = this.notes.value;
        await this.saveNow();
        if (this.postponing && this.root.dataset.postponedNext)
            window.location.assign(this.root.dataset.postponedNext);
    }

    // -- the timer ------------------------------------------------------------------------------

    runTimer() {
        window.clearInterval(this.tickTimer);
        this.tick();
        this.tickTimer = window.setInterval(() => this.tick(), 1000);
    }

    tick() {
        if (this.startedAt === null) return;
        const elapsed = Math.max(0, Math.floor((performance.now() - this.startedAt) / 1000));
        const left = this.planned - elapsed;
        const state = left < 0 ? 'over' : left <= NEAR_END_SECONDS ? 'near' : 'on-time';
        const timer = this.$('call-timer');
        timer.textContent = this.text('t-timer', {elapsed: CallPanel.clock(elapsed),
                                                  planned: CallPanel.clock(this.planned)});
        timer.dataset.state = state;
        this.$('timer-fill').style.width =
            (this.planned ? Math.min(100, 100 * elapsed / this.planned) : 100) + '%';
        const sign = state === 'near' ? this.text('t-timer-near', {minutes: String(Math.ceil(left / 60))}) :
            state === 'over' && left > -60 ? this.text('t-timer-end') :
                state === 'over' ? this.text('t-timer-over', {minutes: String(Math.floor(-left / 60))}) : '';
        const box = this.$('timer-sign');
        if (box.textContent !== sign) box.textContent = sign;  // announced when it changes only
        box.dataset.state = state;
    }

    /** 754 → "12:34"; 3700 → "1:01:40". @param {number} seconds */
    static clock(seconds) {
        const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
        const mm = h ? String(m).padStart(2, '0') : String(m);
        return (h ? h + ':' : '') + mm + ':' + String(s).padStart(2, '0');
    }

    // -- the notes ----------------------------------------------------------------------------

    typed() {
        window.clearTimeout(this.saveTimer);
        this.retries = 0;
        this.saveTimer = window.setTimeout(() => this.save(), NOTES_PAUSE_MS);
    }

    /** Save at once what is typed (and wait for it). */
    async saveNow() {
        window.clearTimeout(this.saveTimer);
        if (this.saving) await this.saving;
        await this.save();
    }

    /** Send the notes if they changed; a save under way is followed by another if needed. */
    save() {
        if (!this.notes || this.saving) return this.saving || Promise.resolve();
        const text = this.notes.value;
        if (text === this.saved) return Promise.resolve();
        this.saving = this.send(text).finally(() => { this.saving = null; });
        return this.saving;
    }

    /** @param {string} text */
    async send(text) {
        const state = this.$('notes-state');
        state.textContent = this.text('t-notes-saving');
        const result = await window.ProximaApi.call('PUT', this.root.dataset.notesApi || '', {notes: text});
        if (result.ok) {
            this.saved = text;
            this.retries = 0;
            state.textContent = this.text('t-notes-saved', {
                time: new Date().toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})});
            if (this.notes && this.notes.value !== text) this.typed();  // typed meanwhile
        } else if ((result.status === 0 || result.status >= 500 || result.status === 429) &&
                   this.retries < NOTES_RETRIES) {
            // The server cannot be reached for now: again later (the text stays on the page).
            this.retries += 1;
            state.textContent = this.text('t-notes-retry');
            window.clearTimeout(this.saveTimer);
            this.saveTimer = window.setTimeout(() => this.save(), 1000 * 2 ** this.retries);
        } else {
            state.textContent = this.text('t-notes-failed', {message: String(result.data.message || '')});
        }
    }

    /** The page goes away with notes not yet saved: send them on the way out. */
    saveOnLeaving() {
        if (!this.notes || this.notes.value === this.saved) return;
        fetch(this.root.dataset.notesApi || '', {
            method: 'PUT', keepalive: true, credentials: 'same-origin',
            headers: {'Accept': 'application/json', 'Content-Type': 'application/json'},
            body: JSON.stringify({notes: this.notes.value})}).catch(() => {});
    }

    // -- postpone -------------------------------------------------------------------------------

    /** Show (or hide) the confirmation under "Postpone the interview". @param {boolean} ask */
    askPostpone(ask) {
        this.$('postpone-confirm').hidden = !ask;
        this.$('btn-postpone').setAttribute('aria-expanded', String(ask));
        (ask ? this.$('btn-postpone-yes') : this.$('btn-postpone')).focus();
    }
}

window.ProximaCallPanel = CallPanel;

(function () {
    const root = document.getElementById('call-panel');
    if (root) new CallPanel(root).start();
})();
