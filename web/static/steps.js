// @ts-check
/**
 * The person's page, one step per screen: every [data-step] section of #steps is a screen, and
 * this controller shows one at a time. Showing a step hides the others, focuses its heading
 * (announced by screen readers: the focus moves, and #step-announce says the heading), adds an
 * entry to the browser's history (the back button goes back a step) and remembers it in
 * sessionStorage (a reload comes back to it; opening the page anew, or in another language,
 * starts at the arrival). A button with data-next="<step id>" goes forward.
 *
 * Only the steps the page itself decides are restored by a reload (arrival, the check, the
 * connection test, consent, "come back later"). The waiting room, the call, the phone and the end
 * are the server's to say (interview.js shows them on its messages: a standing consent brings the
 * waiting room back; an admitted browser, the call): nothing here lets a page skip consent.
 * Each change of step is a 'stepchange' event on #steps ({from, to}): the device check and the
 * connection test release the camera and microphone when their step is left.
 * During the call, on the phone step and at the end, the back button stays where it is.
 */
'use strict';

/** Steps the server drives: never restored from storage, never left by the back button. */
const SERVER_STEPS = ['waiting-step', 'call-step', 'phone-step', 'ended-step'];
/** Steps the back button does not leave (it would show an earlier step over the call). */
const LOCKED_STEPS = ['call-step', 'phone-step', 'ended-step'];

class PersonSteps {
    /** @param {HTMLElement} root  #steps, with data-key (the appointment's public id) */
    constructor(root) {
        this.root = root;
        this.key = 'proxima.step.' + (root.dataset.key || '');
        /** @type {HTMLElement[]} */
        this.steps = /** @type {HTMLElement[]} */ (Array.from(root.querySelectorAll('[data-step]')));
        const visible = this.steps.find(s => !s.hidden);
        this.current = visible ? visible.id : '';
    }

    /** @param {string} id */
    has(id) {
        return this.steps.some(s => s.id === id);
    }

    /**
     * Show one step and hide the others; its heading takes the focus and is announced.
     * @param {string} id
     * @param {'push'|'replace'|'none'} history  how the browser's history records it
     */
    show(id, history = 'push') {
        if (!this.has(id)) return;
        const from = this.current;
        for (const step of this.steps) step.hidden = step.id !== id;
        this.current = id;
        if (history === 'push' && from !== id) window.history.pushState({step: id}, '', PersonSteps.hash(id));
        else if (history !== 'none') window.history.replaceState({step: id}, '', PersonSteps.hash(id));
        try {
            window.sessionStorage.setItem(this.key, id);
        } catch (e) { /* storage refused (private mode): a reload starts again */ }
        this.focus(id);
        if (from !== id)  // what each page script listens to: leave a step, release its devices
            this.root.dispatchEvent(new CustomEvent('stepchange', {detail: {from, to: id}}));
    }

    /** The step's heading focused, at the top of the screen, and said by the live region. */
    focus(/** @type {string} */ id) {
        const step = /** @type {HTMLElement} */ (document.getElementById(id));
        const heading = /** @type {HTMLElement|null} */ (step.querySelector('h1, h2, h3'));
        window.scrollTo(0, 0);
        if (heading) {
            heading.tabIndex = -1;
            heading.focus({preventScroll: true});
        }
        const announce = document.getElementById('step-announce');
        if (announce && heading) announce.textContent = heading.textContent || '';
    }

    /** Wire the forward buttons and the back button; come back to the step of a reload. */
    start() {
        for (const button of Array.from(this.root.querySelectorAll('[data-next]')))
            button.addEventListener('click', () => this.show(
                /** @type {HTMLElement} */ (button).dataset.next || '', 'push'));
        // Each step starts at its top: the browser does not put back an earlier step's scroll.
        window.history.scrollRestoration = 'manual';
        window.addEventListener('popstate', event => this.gotBack(event.state));
        let saved = '';
        try {  // a reload (or the page brought back) only: a new visit starts at the arrival
            if (PersonSteps.reloaded()) saved = window.sessionStorage.getItem(this.key) || '';
        } catch (e) { /* no storage: start at the arrival */ }
        // A step the server decides comes back with its message (waiting, admitted): until then,
        // the arrival.
        if (SERVER_STEPS.includes(saved)) saved = '';
        if (saved && this.has(saved) && saved !== this.current) {
            // This history entry is the step's again; the entries before it still hold the
            // steps before, so the back button goes on working after a reload.
            this.show(saved, 'replace');
        } else {
            window.history.replaceState({step: this.current}, '', PersonSteps.hash(this.current));
            this.focus(this.current);
        }
        // Chromium drops a focus given before the page has loaded: give it again then.
        window.addEventListener('load', () => {
            if (document.activeElement === document.body) this.focus(this.current);
        });
    }

    /**
     * The address of a step: #step=<name>, which names no element (a fragment that did would make
     * the browser move the focus away from the heading on going back).
     * @param {string} id
     */
    static hash(id) {
        return '#step=' + id.replace(/-step$/, '');
    }

    /** Whether this page was reloaded or brought back, rather than opened (a link, a language). */
    static reloaded() {
        const nav = /** @type {PerformanceNavigationTiming|undefined} */ (
            performance.getEntriesByType('navigation')[0]);
        return !!nav && (nav.type === 'reload' || nav.type === 'back_forward');
    }

    /** The browser's back (or forward) button. @param {any} state */
    gotBack(state) {
        const wanted = state && typeof state.step === 'string' ? state.step : '';
        if (LOCKED_STEPS.includes(this.current)) {  // stay: the call goes on
            window.history.pushState({step: this.current}, '', PersonSteps.hash(this.current));
            return;
        }
        if (!wanted || !this.has(wanted) || (LOCKED_STEPS.includes(wanted))) return;
        this.show(wanted, 'none');
    }
}

(function () {
    const root = document.getElementById('steps');
    if (!root) return;
    const steps = new PersonSteps(root);
    window.ProximaSteps = steps;
    document.addEventListener('DOMContentLoaded', () => steps.start());
})();
