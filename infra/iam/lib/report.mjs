// The checker's output: findings (counted; any fails the run) and notes, one line each, each
// printed once.

export class Report {
  constructor(out = (line) => process.stdout.write(`${line}\n`)) {
    this.out = out;
    this.findings = 0;
    this.printed = new Set();
  }

  finding(line) {
    if (this.printed.has(line)) return;
    this.printed.add(line);
    this.findings++;
    this.out(line);
  }

  note(line) {
    if (this.printed.has(line)) return;
    this.printed.add(line);
    this.out(`note: ${line}`);
  }
}
