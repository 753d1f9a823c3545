// @ts-check
/** The device check on the appointment page: wires ProximaDevices to the page. */
'use strict';

/** @param {string} id */
function messageText(id) {
    const t = /** @type {HTMLTemplateElement|null} */ (document.getElementById(id));
    return t ? (t.content.textContent || '').trim() : '';
}

document.addEventListener('DOMContentLoaded', () => {
    const section = document.getElementById('device-check');
    if (!section) return;
    const video = section.dataset.modality === 'video';
    const result = /** @type {HTMLElement} */ (document.getElementById('check-result'));
    const start = /** @type {HTMLButtonElement} */ (document.getElementById('start-check'));
    /** @type {MediaStream|null} */
    let stream = null;
    /** @type {(() => void)|null} */
    let stopLevel = null;
    start.addEventListener('click', async () => {
        try {
            stream = await window.ProximaDevices.openDevices(video);
        } catch (e) {
            const name = /** @type {DOMException} */ (e).name;
            result.textContent = messageText(name === 'NotFoundError' ? 'msg-missing' : 'msg-denied');
            return;
        }
        const preview = /** @type {HTMLVideoElement} */ (document.getElementById('preview'));
        if (video) {
            preview.srcObject = stream;
            preview.hidden = false;
        }
        const meter = /** @type {HTMLMeterElement} */ (document.getElementById('mic-level'));
        /** @type {HTMLElement} */ (document.getElementById('mic-row')).hidden = false;
        stopLevel = window.ProximaDevices.watchLevel(stream, level => { meter.value = level; });
        result.textContent = messageText('msg-ok');
        start.hidden = true;
    });
    /** @type {HTMLElement} */ (document.getElementById('play-sound')).addEventListener('click', async () => {
        await window.ProximaDevices.playTestTone();
        result.textContent = messageText('msg-sound');
    });
    window.addEventListener('pagehide', () => {
        if (stopLevel) stopLevel();
        if (stream) for (const track of stream.getTracks()) track.stop();
    });
});
