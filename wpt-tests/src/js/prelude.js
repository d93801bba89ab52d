// The shell environment testharness.js and the wasm/jsapi tests expect, evaluated first in
// every realm. This script must stay sloppy (no "use strict" at its top level).

// A sloppy direct eval at the top of the first script works around a Boa 0.22 bug: without
// it, a function defined by an earlier script cannot see a top-level let/const declared by a
// later script in the same realm (instanceTestFactory.js and `let emptyModuleBinary`).
eval("");

(function (global, host) {
  "use strict";

  // testharness.js ends with `})(self);` and picks its ShellTestEnvironment when the global
  // looks like neither a window nor a worker.
  global.self = global;

  // testharness.js names unnamed subtests after location.pathname (else "Untitled N"), and
  // prefers META_TITLE when a test declares one.
  var pathname = host.path;
  global.location = {
    pathname: pathname,
    href: "http://web-platform.test:8000" + pathname,
    toString: function () {
      return this.href;
    },
  };
  if (host.title !== undefined) {
    global.META_TITLE = host.title;
  }
  // wpt's .any.js wrappers define GLOBAL; some tests ask it which scope they run in.
  global.GLOBAL = {
    isWindow: function () {
      return false;
    },
    isWorker: function () {
      return false;
    },
    isShadowRealm: function () {
      return false;
    },
  };

  // Output is captured per file by the runner (files run in parallel), not written directly.
  var emit = host.print;
  function print() {
    var parts = [];
    for (var i = 0; i < arguments.length; i++) {
      parts.push(String(arguments[i]));
    }
    emit(parts.join(" "));
  }
  global.print = print;
  global.console = {
    log: print,
    info: print,
    warn: print,
    error: print,
    debug: print,
    trace: print,
  };

  // Timers on a fake clock. Nothing in wasm/jsapi needs real time, and sleeping would only
  // slow the run down: the runner fires the earliest timer whenever the promise job queue is
  // empty (see __sidewinder_fire_timer), so a timer's delay only orders it among the others.
  var now = 0;
  var sequence = 0;
  var nextId = 1;
  var timers = new Map();

  function schedule(callback, delay, args, repeat) {
    var ms = Number(delay);
    if (!(ms > 0)) {
      ms = 0;
    }
    var id = nextId++;
    timers.set(id, {
      due: now + ms,
      sequence: sequence++,
      callback: callback,
      args: args,
      interval: repeat ? ms : -1,
    });
    return id;
  }
  function cancel(id) {
    timers.delete(id);
  }
  global.setTimeout = function setTimeout(callback, delay) {
    return schedule(callback, delay, Array.prototype.slice.call(arguments, 2), false);
  };
  global.setInterval = function setInterval(callback, delay) {
    return schedule(callback, delay, Array.prototype.slice.call(arguments, 2), true);
  };
  global.clearTimeout = function clearTimeout(id) {
    cancel(id);
  };
  global.clearInterval = function clearInterval(id) {
    cancel(id);
  };

  // Returns whether a timer fired. Exceptions from the callback propagate to the runner,
  // which reports them like a browser reports an uncaught error in a task.
  Object.defineProperty(global, "__sidewinder_fire_timer", {
    value: function () {
      var nextTimer = null;
      var nextTimerId = 0;
      timers.forEach(function (timer, id) {
        if (
          nextTimer === null ||
          timer.due < nextTimer.due ||
          (timer.due === nextTimer.due && timer.sequence < nextTimer.sequence)
        ) {
          nextTimer = timer;
          nextTimerId = id;
        }
      });
      if (nextTimer === null) {
        return false;
      }
      now = nextTimer.due;
      if (nextTimer.interval >= 0) {
        nextTimer.due = now + nextTimer.interval;
        nextTimer.sequence = sequence++;
      } else {
        timers.delete(nextTimerId);
      }
      if (typeof nextTimer.callback === "function") {
        nextTimer.callback.apply(global, nextTimer.args);
      } else {
        // setTimeout("code") evaluates the string in the global scope.
        (0, eval)(String(nextTimer.callback));
      }
      return true;
    },
    writable: false,
    enumerable: false,
    configurable: true,
  });
})(globalThis, globalThis.__sidewinder_wpt);
