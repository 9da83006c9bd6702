// The visitor's ticket page (status.html): keeps itself current without reloading, and rings when
// the ticket is called. It asks /t/<token>/state?after=<version>, which the hub answers as soon as
// the center's line changes (or after about half a minute with nothing new), then asks again.
// The texts come rendered in the page's language from the hub; this script only places them.
"use strict";

(() => {
  const body = document.body;
  const $ = (id) => document.getElementById(id);
  const token = location.pathname.split("/")[2];
  const lang = body.dataset.lang;
  let version = Number(body.dataset.version);
  let calls = Number(body.dataset.calls);
  let rang = 0;
  let audio = null;

  // Browsers play sound only after the visitor has touched the page: the first touch anywhere
  // (or the button, which says so) opens the audio for the call to come.
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  const soundButton = $("sound");
  function unlockSound() {
    if (!AudioContextClass) return;
    if (!audio) audio = new AudioContextClass();
    if (audio.state === "suspended") audio.resume();
    soundButton.textContent = body.dataset.soundOn;
  }
  if (AudioContextClass && !body.dataset.final) {  // a ticket already over will not ring
    soundButton.textContent = body.dataset.soundOff;
    soundButton.classList.remove("hidden");
    soundButton.addEventListener("click", () => { unlockSound(); beep(1); });
    for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlockSound, {passive: true});
  }

  // Short high tones that carry across a noisy hall without being shrill.
  function beep(times) {
    if (!audio) return;
    const start = audio.currentTime + 0.05;
    for (let i = 0; i < times; i++) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      tone.connect(gain);
      gain.connect(audio.destination);
      const at = start + i * 0.45;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.6, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.35);
      tone.start(at);
      tone.stop(at + 0.4);
    }
  }

  function ring() {
    rang += 1;
    body.dataset.rang = String(rang);  // what was rung, for anyone checking the page
    beep(3);
    if (navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
  }

  function paragraph(text) {
    const p = document.createElement("p");
    p.textContent = text;
    return p;
  }

  function render(view) {
    document.title = view.title;
    $("title").textContent = view.title;
    $("service").textContent = view.service;
    $("headline").textContent = view.headline;
    const main = $("status");
    main.className = view.kind;
    main.dataset.state = view.state;
    $("lines").replaceChildren(...view.lines.map(paragraph));
    if (!view.cancellable) {
      $("cancel").replaceChildren();
    } else if (!$("cancel").children.length) {
      location.reload();  // back in a line (moved to another service): the page's own cancel button
    }
    if (view.calls > calls) ring();
    if (view.final) soundButton.classList.add("hidden");
    calls = view.calls;
    version = view.version;
  }

  function showOffline(offline) {
    $("offline").textContent = offline ? body.dataset.offline : "";
    $("offline").classList.toggle("hidden", !offline);
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function follow() {
    let pause = 0;
    for (;;) {
      if (pause) await sleep(pause);
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 45000);  // a connection dropped without a word
      try {
        const answer = await fetch(`/t/${encodeURIComponent(token)}/state?after=${version}&lang=${lang}`,
                                   {cache: "no-store", signal: abort.signal});
        if (answer.status === 503) {  // the hub has many phones waiting: it says when to come back
          pause = (Number(answer.headers.get("Retry-After")) || 10) * 1000;
          continue;
        }
        if (answer.status === 404) return;
        if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
        const view = await answer.json();
        showOffline(false);
        render(view);
        pause = 0;
        if (view.final) return;
      } catch (error) {
        showOffline(true);
        pause = Math.min(30000, Math.max(1000, pause * 2));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  $("footer").textContent = body.dataset.live;
  if (!body.dataset.final) follow();
})();
