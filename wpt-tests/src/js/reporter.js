// Evaluated right after testharness.js: forwards every subtest's registration, result and the
// final harness status to the runner. testharness.js's own testharnessreport.js needs a DOM.
(function (global) {
  "use strict";
  var host = global.__sidewinder_wpt;
  // Tests should not trip over our plumbing; everything needed is captured above.
  delete global.__sidewinder_wpt;

  var TEST_STATUS = ["PASS", "FAIL", "TIMEOUT", "NOTRUN", "PRECONDITION_FAILED"];
  var HARNESS_STATUS = ["OK", "ERROR", "TIMEOUT", "PRECONDITION_FAILED"];

  function text(value) {
    if (value === null || value === undefined) {
      return "";
    }
    try {
      return String(value);
    } catch (e) {
      return "<value that cannot be converted to a string>";
    }
  }
  function statusName(table, status) {
    return table[status] || "UNKNOWN(" + text(status) + ")";
  }

  // The state callback fires on registration and again whenever a test starts a step, so
  // remember which tests were already announced. The runner needs registrations to report the
  // subtests of a file that the watchdog had to give up on.
  var announced = new Set();
  add_test_state_callback(function (test) {
    if (!announced.has(test)) {
      announced.add(test);
      host.register(test.index, text(test.name));
    }
  });

  add_result_callback(function (test) {
    host.result(test.index, text(test.name), statusName(TEST_STATUS, test.status), text(test.message));
  });

  add_completion_callback(function (tests, harnessStatus) {
    for (var i = 0; i < tests.length; i++) {
      var test = tests[i];
      host.final(test.index, text(test.name), statusName(TEST_STATUS, test.status), text(test.message));
    }
    host.complete(statusName(HARNESS_STATUS, harnessStatus.status), text(harnessStatus.message));
  });
})(globalThis);
