// @ts-check
/**
 * The sound and camera check, a step of the person's page (steps.js): wires ProximaDevices to it.
 * One capture at a time: a second tap while the camera opens does nothing, and the capture stops
 * as soon as the step is left (the call opens its own when it starts, so the camera's light is
 * never on while the person waits), or when the page goes away. Coming back to the step starts
 * afresh: its button, no picture, no old message.
 */
'use strict';

/** @param {string} id */
function messageText(id) {
    const t = /** @type {HTMLTemplateElement|null} */ (document.getElementById(id));
    return t ? (t.content.textContent || '').trim() : '';
}

document.addEventListener('DOMContentLoaded', () => {
    const section = document.getElementById('check-step');
    if (!section) return;
    const video = section.dataset.modality === 'video';
    const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
    const result = $('check-result');
    const start = /** @type {HTMLButtonElement} */ ($('start-check'));
    const preview = /** @type {HTMLVideoElement} */ ($('preview'));
    const meter = /** @type {HTMLMeterElement} */ ($('mic-level'));
    /** @type {MediaStream|null} */
    let stream = null;
    /** @type {(() => void)|null} */
    let stopLevel = null;
    let opening = false;

    /** Every track of the check stopped, and the step as it was at first. */
    const release = () => {
        if (stopLevel) stopLevel();
        stopLevel = null;
        if (stream) for (const track of stream.getTracks()) track.stop();
        stream = null;
        preview.srcObject = null;
        preview.hidden = true;
        $('mic-row').hidden = true;
        $('play-sound').hidden = true;
        start.hidden = false;
        result.textContent = '';
    };

    start.addEventListener('click', async () => {
        if (opening || stream) return;  // one capture, never two
        opening = true;
        start.disabled = true;
        try {
            const opened = await window.ProximaDevices.openDevices(video);
            if (section.hidden) {  // the person went on meanwhile: nothing stays open
                for (const track of opened.getTracks()) track.stop();
                return;
            }
            stream = opened;
        } catch (e) {
            const name = /** @type {DOMException} */ (e).name;
            result.textContent = messageText(name === 'NotFoundError' ? 'msg-missing' : 'msg-denied');
            return;
        } finally {
            opening = false;
            start.disabled = false;
        }
        if (video) {
            preview.srcObject = stream;
            preview.hidden = false;
        }
        $('mic-row').hidden = false;
        $('play-sound').hidden = false;
        stopLevel = window.ProximaDevices.watchLevel(stream, level => { meter.value = level; });
        result.textContent = messageText(video ? 'msg-ok' : 'msg-mic-ok');
        start.hidden = true;  // the focus it had goes on to the step's next action
        const next = /** @type {HTMLElement|null} */ (section.querySelector('[data-next]'));
        if (next) next.focus({preventScroll: true});
    });
    $('play-sound').addEventListener('click', async () => {
        await window.ProximaDevices.playTestTone();
        result.textContent = messageText('msg-sound');
    });
    const steps = document.getElementById('steps');
    if (steps) steps.addEventListener('stepchange', event => {
        if (/** @type {CustomEvent} */ (event).detail.from === 'check-step') release();
    });
    window.addEventListener('pagehide', release);
});
