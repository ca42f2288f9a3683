import fs from 'node:fs';
const list = process.argv.slice(2);
const st=()=>{gc();gc();const s=fs.readFileSync('/proc/self/status','utf8');return [process.memoryUsage().heapUsed/1048576, +/RssAnon:\s+(\d+)/.exec(s)[1]/1024]};
let [h0,a0]=st(); console.log('base', h0.toFixed(2), a0.toFixed(1));
for (const m of list) { await import(m.startsWith('.')||m.startsWith('/')?new URL(m, 'file://'+process.cwd()+'/').href:m); const [h,a]=st(); console.log(m.padEnd(45), '+heap', (h-h0).toFixed(2), '+anon', (a-a0).toFixed(1)); h0=h;a0=a; }
