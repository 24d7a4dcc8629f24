// Plays files from a running `amscrypt serve` in headless Chromium; run by
// scripts/test-serve, which installs playwright-core and passes its path:
//
//   node scripts/serve-chromium.js PLAYWRIGHT_CORE_DIR BASE_URL SCREENSHOT NAME...
//
// Uses the system's Chromium (/usr/bin/chromium, or $CHROMIUM): playwright's
// own browser download does not work on the CI machines. For each NAME it
// opens a 640x360 page holding <video src="BASE_URL/NAME" muted autoplay>,
// waits until the element reaches readyState 4 (HAVE_ENOUGH_DATA) and
// currentTime passes 0.5 s, then seeks to 3.5 s and waits for it to play
// on from there (readyState >= 3, currentTime > 3.5), and prints one JSON
// line per file with what the element reported. The first file's page is
// saved as SCREENSHOT while it plays. Exits 0 only if every file played.
'use strict';

const path = require('path');

const [pwDir, baseURL, screenshot, ...names] = process.argv.slice(2);
if (!pwDir || !baseURL || !screenshot || names.length === 0) {
  console.error('usage: serve-chromium.js PLAYWRIGHT_CORE_DIR BASE_URL SCREENSHOT NAME...');
  process.exit(2);
}
const { chromium } = require(pwDir);

const PLAY_TIMEOUT_MS = 20000;
const SEEK_TO = 3.5; // seconds into the 5 s test video

function page(name) {
  const src = new URL(encodeURIComponent(name), baseURL).href;
  // The caption shows what is playing; the video is the page's only media.
  return `<!doctype html><meta charset="utf-8"><title>${name}</title>
<style>html,body{margin:0;background:#111;color:#eee;font:14px "DejaVu Sans",sans-serif}
video{display:block;width:640px;height:336px;background:#000}
p{margin:0;padding:2px 8px;height:20px;line-height:20px;white-space:nowrap;overflow:hidden}</style>
<video src="${src}" muted autoplay playsinline></video>
<p id="caption">amscrypt serve &rarr; Chromium: ${name}</p>`;
}

async function play(context, name, shotPath) {
  const p = await context.newPage();
  const result = { name };
  try {
    await p.setContent(page(name));
    result.canPlayType = await p.evaluate(() =>
      document.createElement('video').canPlayType('video/mp4; codecs="avc1.4D401E, mp4a.40.2"'));
    try {
      await p.waitForFunction(() => {
        const v = document.querySelector('video');
        return v.error !== null || (v.readyState === 4 && v.currentTime > 0.5);
      }, null, { timeout: PLAY_TIMEOUT_MS, polling: 100 });
    } catch (e) {
      result.timeout = `no readyState 4 and currentTime > 0.5 within ${PLAY_TIMEOUT_MS} ms`;
    }
    Object.assign(result, await p.evaluate(() => {
      const v = document.querySelector('video');
      const q = v.getVideoPlaybackQuality();
      return {
        readyState: v.readyState,
        currentTime: v.currentTime,
        duration: v.duration,
        videoWidth: v.videoWidth,
        videoHeight: v.videoHeight,
        decodedFrames: q.totalVideoFrames,
        droppedFrames: q.droppedVideoFrames,
        error: v.error && `${v.error.code} ${v.error.message}`,
      };
    }));
    if (shotPath && !result.timeout && !result.error) {
      await p.evaluate((t) => {
        const v = (navigator.userAgent.match(/Chrome\/([0-9]+)/) || ['', '?'])[1];
        document.getElementById('caption').textContent =
          `amscrypt serve \u2192 Chromium ${v}: ${document.title} decrypted on the fly, t = ${t.toFixed(1)} s`;
      }, result.currentTime);
      await p.screenshot({ path: shotPath });
      result.screenshot = shotPath;
    }
    if (!result.timeout && !result.error) {
      // A seek near the end: the player must fetch that range and play on.
      result.seekedTo = await p.evaluate((to) => new Promise((resolve) => {
        const v = document.querySelector('video');
        const timer = setTimeout(() => resolve(-1), 10000);
        v.addEventListener('seeked', () => {
          const check = () => {
            if (v.readyState >= 3 && v.currentTime > to) {
              clearTimeout(timer);
              resolve(v.currentTime);
            } else {
              setTimeout(check, 50);
            }
          };
          check();
        }, { once: true });
        v.currentTime = to;
      }), SEEK_TO);
    }
  } finally {
    await p.close();
  }
  result.ok = !result.timeout && !result.error && result.readyState === 4 &&
    result.currentTime > 0.5 && result.decodedFrames > 0 && result.seekedTo >= SEEK_TO;
  return result;
}

require(path.join(__dirname, 'chromium-run.js'))(chromium, 'serve-chromium', { width: 640, height: 356 }, async (context) => {
  let ok = true;
  for (const [i, name] of names.entries()) {
    const r = await play(context, name, i === 0 ? screenshot : null);
    console.log(JSON.stringify(r));
    ok = ok && r.ok;
  }
  return ok;
});
