// @ts-check
/**
 * Device checks, DOM-free: open the camera and microphone, measure the microphone's level, play a
 * test tone. The page script (device-check.js) wires these to the page.
 */
'use strict';

/**
 * Open the camera (when video) and the microphone.
 * @param {boolean} video
 * @returns {Promise<MediaStream>}
 */
function openDevices(video) {
    return navigator.mediaDevices.getUserMedia({
        audio: true,
        video: video ? {width: {ideal: 640}, height: {ideal: 480}} : false,
    });
}

/**
 * Call onLevel(0..1) about ten times a second with the microphone's level; returns a stop function.
 * @param {MediaStream} stream
 * @param {(level: number) => void} onLevel
 * @returns {() => void}
 */
function watchLevel(stream, onLevel) {
    const context = new AudioContext();
    const source = context.createMediaStreamSource(stream);
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const s of samples) sum += s * s;
        onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    }, 100);
    return () => { clearInterval(timer); context.close(); };
}

/**
 * Play a short, gentle two-note tone on the speakers.
 * @returns {Promise<void>}
 */
async function playTestTone() {
    const context = new AudioContext();
    const gain = context.createGain();
    gain.gain.value = 0.2;
    gain.connect(context.destination);
    for (const [i, freq] of [[0, 660], [1, 880]]) {
        const osc = context.createOscillator();
        osc.frequency.value = freq;
        osc.connect(gain);
        osc.start(context.currentTime + i * 0.4);
        osc.stop(context.currentTime + i * 0.4 + 0.35);
    }
    await new Promise(resolve => setTimeout(resolve, 900));
    await context.close();
}

window.ProximaDevices = {openDevices, watchLevel, playTestTone};
