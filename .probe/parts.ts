const token = 'eyJ' + 'a'.repeat(300) + '.' + 'b'.repeat(200) + '.' + 'c'.repeat(86);
const header = `Bearer ${token}`;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const m = new Map([[token, 1]]);
function time(name: string, f: () => unknown, n = 1_000_000) { f(); const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) f(); console.log(name, (Number(process.hrtime.bigint() - t) / n).toFixed(0), 'ns'); }
time('regex+trim', () => BEARER.exec(header.trim()));
time('regex+lookup', () => m.get(BEARER.exec(header.trim())![1]!));
time('slice+lookup', () => m.get(header.slice(7)));
time('header lookup', () => m.get(header));
const run = async (n: number) => { const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) await Promise.resolve(1); return Number(process.hrtime.bigint() - t) / n; };
console.log('await', (await run(1e6)).toFixed(0), 'ns');
