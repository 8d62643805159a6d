// Mocha's spec reporter, closing with the plain "N passed, N failed" line that CI reads.
'use strict'
const { reporters, Runner } = require('mocha')

class SummaryReporter extends reporters.Spec {
  constructor(runner, options) {
    super(runner, options)
    runner.once(Runner.constants.EVENT_RUN_END, () => {
      const { passes = 0, failures = 0, pending = 0 } = this.stats
      // Registered after Spec's own epilogue listener, so this is the last line printed.
      console.log(`${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}`)
    })
  }
}

module.exports = SummaryReporter
