// Runs a headless Chromium session for scripts/serve-chromium.js and
// scripts/package-chromium.js: a fresh profile (removed afterwards) in a
// persistent context of playwright-core's chromium, /usr/bin/chromium (or
// $CHROMIUM), autoplay allowed. each(context) plays what the caller wants
// and returns whether all went well; the process exits 0 or 1 after it.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async function run(chromium, name, viewport, each) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-profile-`));
  let context;
  let ok = true;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      timeout: 30000,
      viewport,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--autoplay-policy=no-user-gesture-required'],
      env: { ...process.env, HOME: profile },
    });
    ok = await each(context);
  } catch (e) {
    console.error(`${name}: ${e.message}`);
    ok = false;
  } finally {
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.exit(ok ? 0 : 1);
};
