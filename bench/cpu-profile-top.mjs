// Summarises V8 .cpuprofile files (node --cpu-prof): self time per function, top 25, and the
// share spent in each source file. Usage: node bench/cpu-profile-top.mjs FILE.cpuprofile [...]
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: node bench/cpu-profile-top.mjs FILE.cpuprofile [...]');
const self = new Map();
const byFile = new Map();
let total = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i += 1) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  for (const [id, us] of dt) {
    const { callFrame } = nodes.get(id);
    const where = callFrame.url ? callFrame.url.replace(/^.*\/(node:)?/, '') : '';
    const key = `${callFrame.functionName || '(anonymous)'} ${where}:${callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    const f = callFrame.url ? where : callFrame.functionName;
    byFile.set(f, (byFile.get(f) ?? 0) + us);
    total += us;
  }
}
const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
console.log('self time, top 25:');
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(us)}  ${key}`);
console.log('\nby file, top 15:');
for (const [key, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(us)}  ${key}`);
