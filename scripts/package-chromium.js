// Plays HLS and DASH packages in headless Chromium with hls.js and dash.js;
// run by scripts/test-package, which installs the npm packages and passes
// their node_modules directory:
//
//   node scripts/package-chromium.js NODE_MODULES JOB...
//
// where each JOB is KIND,LABEL,URL[,SCREENSHOT]: KIND hls (URL an HLS
// multivariant playlist, played by hls.js) or dash (URL an MPD, played by
// dash.js). Uses the system's Chromium (/usr/bin/chromium, or $CHROMIUM).
// The player page and the player's script are answered by playwright's
// request interception at URL's own origin (under /__test-package__/), so
// the server under test needs no CORS headers and the scripts come from
// NODE_MODULES, not from a CDN.
// For each job it waits for the <video> to reach readyState 4
// (HAVE_ENOUGH_DATA) with currentTime past 1 s; seeks to the middle (SEEK_TO)
// and waits until currentTime is past it and still advancing; selects the
// French audio track (hls.js audioTrack, dash.js setCurrentTrack; English
// first if the player started on another) and waits until the player
// reports it as the current one, an audio segment of it has been loaded
// since and the time still advances; then saves SCREENSHOT, if given.
// The screenshot's caption starts with $CAPTION (default "amscrypt package").
// Prints one JSON line per job; exits 0 only if every job passed.
'use strict';

const fs = require('fs');
const path = require('path');

const [modules, ...jobs] = process.argv.slice(2);
if (!modules || jobs.length === 0) {
  console.error('usage: package-chromium.js NODE_MODULES KIND,LABEL,URL[,SCREENSHOT]...');
  process.exit(2);
}
const { chromium } = require(path.join(modules, 'playwright-core'));
const LIBS = {
  hls: { file: path.join(modules, 'hls.js/dist/hls.min.js'), pkg: path.join(modules, 'hls.js/package.json') },
  dash: { file: path.join(modules, 'dashjs/dist/modern/umd/dash.all.min.js'), pkg: path.join(modules, 'dashjs/package.json') },
};
const STEP_TIMEOUT_MS = 20000;
const SEEK_TO = 10; // seconds: the middle of the 20 s ladder

function page(kind, label, version) {
  return `<!doctype html><meta charset="utf-8"><title>${label}</title>
<style>html,body{margin:0;background:#111;color:#eee;font:14px "DejaVu Sans",sans-serif}
video{display:block;width:640px;height:360px;background:#000}
p{margin:0;padding:2px 8px;height:20px;line-height:20px;white-space:nowrap;overflow:hidden}</style>
<video muted autoplay playsinline></video>
<p id="caption">${label}: ${kind === 'hls' ? 'hls.js' : 'dash.js'} ${version}</p>
<script src="player.js"></script>`;
}

// In the page: starts the player and keeps what the checks need in
// window.t (events, errors, the audio segments loaded per language).
function start({ kind, url }) {
  const v = document.querySelector('video');
  const lang = (l) => ({ eng: 'en', fra: 'fr', fre: 'fr' }[(l || '').toLowerCase()] || (l || '').toLowerCase().slice(0, 2));
  const t = { errors: [], audioLoaded: {}, lang };
  window.t = t;
  if (kind === 'hls') {
    const hls = new Hls({ enableWorker: true });
    t.hls = hls;
    hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) t.errors.push(`${d.type} ${d.details}`); });
    hls.on(Hls.Events.FRAG_BUFFERED, (_, d) => {
      if (d.frag.type === 'audio') {
        const tr = hls.audioTracks[d.frag.level];
        const l = lang(tr && tr.lang);
        t.audioLoaded[l] = (t.audioLoaded[l] || 0) + 1;
      }
    });
    t.audioTracks = () => hls.audioTracks.map((a) => lang(a.lang));
    t.currentAudio = () => { const a = hls.audioTracks[hls.audioTrack]; return a ? lang(a.lang) : null; };
    t.selectAudio = (l) => {
      const i = hls.audioTracks.findIndex((a) => lang(a.lang) === l);
      if (i >= 0) hls.audioTrack = i;
      return i;
    };
    t.textTracks = () => hls.subtitleTracks.map((s) => lang(s.lang));
    t.videoLevels = () => hls.levels.map((l) => `${l.width}x${l.height}`);
    hls.loadSource(url);
    hls.attachMedia(v);
  } else {
    const p = dashjs.MediaPlayer().create();
    t.dash = p;
    p.on(dashjs.MediaPlayer.events.ERROR, (e) => t.errors.push(JSON.stringify(e.error || e).slice(0, 200)));
    p.on(dashjs.MediaPlayer.events.FRAGMENT_LOADING_COMPLETED, (e) => {
      const r = e.request || {};
      if (r.mediaType === 'audio' && r.type === 'MediaSegment') {
        const mi = (r.representation && r.representation.mediaInfo) || r.mediaInfo || {};
        const l = lang(mi.lang);
        t.audioLoaded[l] = (t.audioLoaded[l] || 0) + 1;
      }
    });
    t.audioTracks = () => p.getTracksFor('audio').map((a) => lang(a.lang));
    t.currentAudio = () => { const a = p.getCurrentTrackFor('audio'); return a ? lang(a.lang) : null; };
    t.selectAudio = (l) => {
      const tracks = p.getTracksFor('audio');
      const i = tracks.findIndex((a) => lang(a.lang) === l);
      if (i >= 0) p.setCurrentTrack(tracks[i]);
      return i;
    };
    t.textTracks = () => p.getTracksFor('text').map((a) => lang(a.lang));
    t.videoLevels = () => p.getRepresentationsByType('video').map((r) => `${r.width}x${r.height}`);
    p.initialize(v, url, true);
  }
}

// In the page: waits until currentTime passes `after` and then advances by
// 0.3 s more (so a stall right after a seek or a switch counts as one).
function advancing({ after, ms }) {
  const v = document.querySelector('video');
  return new Promise((resolve) => {
    const t0 = Date.now();
    let mark = null;
    const tick = () => {
      const now = v.currentTime;
      if (mark === null && now > after && v.readyState >= 3) mark = now;
      if (mark !== null && now > mark + 0.3) return resolve(now);
      if (Date.now() - t0 > ms || v.error) return resolve(-1);
      setTimeout(tick, 50);
    };
    tick();
  });
}

async function play(context, job) {
  const [kind, label, url, shot] = job.split(',');
  const lib = LIBS[kind];
  const version = JSON.parse(fs.readFileSync(lib.pkg, 'utf8')).version;
  const origin = new URL(url).origin;
  const result = { kind, label, url, player: `${kind === 'hls' ? 'hls.js' : 'dash.js'} ${version}` };
  result.caption = process.env.CAPTION || 'amscrypt package';
  const p = await context.newPage();
  await p.route(`${origin}/__test-package__/**`, (route) => {
    const u = new URL(route.request().url());
    if (u.pathname.endsWith('/player.js')) {
      return route.fulfill({ path: lib.file, contentType: 'text/javascript' });
    }
    return route.fulfill({ body: page(kind, label, version), contentType: 'text/html; charset=utf-8' });
  });
  const state = () => p.evaluate(() => {
    const v = document.querySelector('video');
    return {
      readyState: v.readyState, currentTime: v.currentTime, duration: v.duration,
      videoWidth: v.videoWidth, videoHeight: v.videoHeight,
      error: v.error && `${v.error.code} ${v.error.message}`, playerErrors: window.t.errors,
      audioTracks: window.t.audioTracks(), currentAudio: window.t.currentAudio(),
      textTracks: window.t.textTracks(), videoLevels: window.t.videoLevels(),
      audioLoaded: window.t.audioLoaded,
    };
  });
  try {
    await p.goto(`${origin}/__test-package__/player.html`, { timeout: STEP_TIMEOUT_MS });
    await p.evaluate(start, { kind, url });
    try {
      await p.waitForFunction(() => {
        const v = document.querySelector('video');
        return v.error !== null || window.t.errors.length > 0 || (v.readyState === 4 && v.currentTime > 1);
      }, null, { timeout: STEP_TIMEOUT_MS, polling: 100 });
    } catch (e) {
      result.timeout = `no readyState 4 and currentTime > 1 s within ${STEP_TIMEOUT_MS} ms`;
    }
    result.start = await state();
    result.played = !result.timeout && !result.start.error && result.start.playerErrors.length === 0 &&
      result.start.readyState === 4 && result.start.currentTime > 1;
    if (!result.played) return result;

    // A seek to the middle: it must land there and play on.
    await p.evaluate((to) => { document.querySelector('video').currentTime = to; }, SEEK_TO);
    result.seekedTo = await p.evaluate(advancing, { after: SEEK_TO - 0.01, ms: STEP_TIMEOUT_MS });
    result.seeked = result.seekedTo >= SEEK_TO && result.seekedTo < SEEK_TO + 3;

    // The second audio language. A player may start on either when the
    // package marks neither as the default: make it English first, then.
    // A language counts as selected when the player reports it as current
    // and a segment of it has been loaded since it was asked for.
    const select = async (l) => {
      const i = await p.evaluate((lang) => {
        window.t.audioLoaded = {};
        return window.t.selectAudio(lang);
      }, l);
      if (i < 0) return i;
      await p.waitForFunction((lang) => window.t.currentAudio() === lang && (window.t.audioLoaded[lang] || 0) > 0,
        l, { timeout: STEP_TIMEOUT_MS, polling: 100 });
      return i;
    };
    result.initialAudio = result.start.currentAudio;
    try {
      if (result.initialAudio !== 'en') await select('en');
      result.audioIndex = await select('fr');
      if (result.audioIndex >= 0) {
        const now = await p.evaluate(() => document.querySelector('video').currentTime);
        result.afterSwitch = await p.evaluate(advancing, { after: now, ms: STEP_TIMEOUT_MS });
      }
    } catch (e) {
      result.switchTimeout = `no English then French current with a segment of it loaded within ${STEP_TIMEOUT_MS} ms each`;
    }
    result.end = await state();
    result.switched = result.audioIndex >= 0 && !result.switchTimeout && result.end.currentAudio === 'fr' &&
      result.afterSwitch > 0 && result.end.playerErrors.length === 0 && !result.end.error;

    if (shot) {
      await p.evaluate((r) => {
        const v = (navigator.userAgent.match(/Chrome\/([0-9]+)/) || ['', '?'])[1];
        document.getElementById('caption').textContent =
          `${r.caption} \u2192 ${r.player}, Chromium ${v}: ${r.end.videoWidth}x${r.end.videoHeight}, ` +
          `audio ${r.end.currentAudio}, t = ${r.end.currentTime.toFixed(1)} s`;
      }, result);
      await p.screenshot({ path: shot });
      result.screenshot = shot;
    }
  } catch (e) {
    result.exception = e.message.split('\n')[0];
  } finally {
    result.ok = !!(result.played && result.seeked && result.switched && !result.exception);
    await p.close();
  }
  return result;
}

require(path.join(__dirname, 'chromium-run.js'))(chromium, 'package-chromium', { width: 640, height: 384 }, async (context) => {
  let ok = true;
  for (const job of jobs) {
    const r = await play(context, job);
    console.log(JSON.stringify(r));
    ok = ok && r.ok;
  }
  return ok;
});
