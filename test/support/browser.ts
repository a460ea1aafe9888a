import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`make test` installs it through scripts/require-tools.sh); never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium as the browser tests run it: no sandbox (root), no GPU, no background traffic on the closed network. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: Debian chromium is installed by \`make test\` (scripts/require-tools.sh)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
