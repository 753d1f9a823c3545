// @ts-check
/**
 * The connection test, a step of the person's page (steps.js): wires ProximaConnectionTest to it.
 * Until the first picture comes back, the echo says so in words ("the image is coming") instead
 * of showing a black box, and again whenever the picture stops. Leaving the step stops a test in
 * progress (its camera and microphone with it); a result already given stays with its step.
 */
'use strict';

document.addEventListener('DOMContentLoaded', () => {
    const section = document.getElementById('test-step');
    if (!section) return;
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    const text = (/** @type {string} */ id) => {
        const t = /** @type {HTMLTemplateElement|null} */ (document.getElementById(id));
        return t ? (t.content.textContent || '').trim() : '';
    };
    /** @type {ConnectionTestRun|null} */ let run = null;
    const url = window.ProximaSignalling.urlFor(section.dataset.ws || '');
    const echo = /** @type {HTMLVideoElement} */ ($('test-echo'));
    /** Words over the echo while no picture has arrived (or the picture stopped). */
    const picture = () => { $('test-echo-wait').hidden = echo.videoWidth > 0 && !echo.paused; };
    for (const event of ['loadeddata', 'resize', 'playing', 'pause', 'emptied'])
        echo.addEventListener(event, picture);

    /** A test that is not over is stopped; the step is ready to start one again. */
    const stop = () => {
        if (!run) return;
        const finished = $('test-result').dataset.recommendation;
        run.stop();
        run = null;
        echo.srcObject = null;
        $('test-echo-box').hidden = true;
        $('start-test').disabled = false;
        if (!finished) {
            $('test-progress').hidden = true;
            $('test-result').textContent = '';
        }
    };

    $('start-test').addEventListener('click', () => {
        if (run) run.stop();
        const test = new window.ProximaConnectionTest(url);
        run = test;
        $('test-progress').value = 0;
        $('test-progress').hidden = false;
        $('test-result').textContent = text('tt-running');
        delete $('test-result').dataset.recommendation;
        $('test-figures').textContent = '';
        $('start-test').disabled = true;
        test.onprogress = f => { $('test-progress').value = f; };
        test.onstream = s => {
            echo.srcObject = s;
            $('test-echo-box').hidden = false;
            picture();
            for (const track of s.getVideoTracks()) {
                track.onmute = () => { $('test-echo-wait').hidden = false; };
                track.onunmute = picture;
            }
        };
        test.onresult = r => {  // the echo is over: its last picture goes with it
            $('test-echo-box').hidden = true;
            $('test-progress').value = 1;
            $('test-result').textContent = text('tt-' + r.recommendation);
            $('test-result').dataset.recommendation = r.recommendation;
            $('test-result').dataset.path = r.figures.path;
            $('test-figures').textContent = text('tt-figures')
                .replace('{rtt}', String(r.figures.rttMs)).replace('{up}', String(r.figures.upKbps))
                .replace('{down}', String(r.figures.downKbps))
                .replace('{loss}', String(Math.round((r.figures.loss || 0) * 1000) / 10));
            $('start-test').disabled = false;
            $('start-test').textContent = text('tt-again');
        };
        test.onerror = code => {
            if (code === 'access_ended') {  // the link no longer works: the page says why
                location.reload();
                return;
            }
            $('test-echo-box').hidden = true;
            $('test-result').textContent = text(code === 'busy' ? 'tt-busy' : code === 'no_devices' ? 'tt-no-devices' : 'tt-failed');
            $('start-test').disabled = false;
        };
        test.onhelp = alert => {
            $('help-status').textContent = text(alert.workerPresent ? 'tt-help-sent' : 'tt-help-call');
        };
        test.start();
    });
    $('test-help').addEventListener('click', () => {
        if (run) run.help();
        else $('help-status').textContent = text('tt-help-call');
    });
    const steps = document.getElementById('steps');
    if (steps) steps.addEventListener('stepchange', event => {
        if (/** @type {CustomEvent} */ (event).detail.from === 'test-step') stop();
    });
    window.addEventListener('pagehide', () => { if (run) run.stop(); });
});
