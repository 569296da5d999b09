var process = globalThis.process || { browser: true, env: {}, nextTick: (f, ...a) => queueMicrotask(() => f(...a)) };
(() => {
  var __create = Object.create;
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __getProtoOf = Object.getPrototypeOf;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __commonJS = (cb, mod) => function __require() {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  };
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __reExport = (target, mod, secondTarget) => (__copyProps(target, mod, "default"), secondTarget && __copyProps(secondTarget, mod, "default"));
  var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
    // If the importer is in node compatibility mode or this is not an ESM
    // file that has been converted to a CommonJS file using a Babel-
    // compatible transform (i.e. "__esModule" has not been set), then set
    // "default" to the CommonJS "module.exports" for node compatibility.
    isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
    mod
  ));

  // node_modules/ms/index.js
  var require_ms = __commonJS({
    "node_modules/ms/index.js"(exports, module) {
      var s = 1e3;
      var m = s * 60;
      var h = m * 60;
      var d = h * 24;
      var w = d * 7;
      var y = d * 365.25;
      module.exports = function(val, options) {
        options = options || {};
        var type = typeof val;
        if (type === "string" && val.length > 0) {
          return parse(val);
        } else if (type === "number" && isFinite(val)) {
          return options.long ? fmtLong(val) : fmtShort(val);
        }
        throw new Error(
          "val is not a non-empty string or a valid number. val=" + JSON.stringify(val)
        );
      };
      function parse(str) {
        str = String(str);
        if (str.length > 100) {
          return;
        }
        var match = /^(-?(?:\d+)?\.?\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)?$/i.exec(
          str
        );
        if (!match) {
          return;
        }
        var n = parseFloat(match[1]);
        var type = (match[2] || "ms").toLowerCase();
        switch (type) {
          case "years":
          case "year":
          case "yrs":
          case "yr":
          case "y":
            return n * y;
          case "weeks":
          case "week":
          case "w":
            return n * w;
          case "days":
          case "day":
          case "d":
            return n * d;
          case "hours":
          case "hour":
          case "hrs":
          case "hr":
          case "h":
            return n * h;
          case "minutes":
          case "minute":
          case "mins":
          case "min":
          case "m":
            return n * m;
          case "seconds":
          case "second":
          case "secs":
          case "sec":
          case "s":
            return n * s;
          case "milliseconds":
          case "millisecond":
          case "msecs":
          case "msec":
          case "ms":
            return n;
          default:
            return void 0;
        }
      }
      function fmtShort(ms) {
        var msAbs = Math.abs(ms);
        if (msAbs >= d) {
          return Math.round(ms / d) + "d";
        }
        if (msAbs >= h) {
          return Math.round(ms / h) + "h";
        }
        if (msAbs >= m) {
          return Math.round(ms / m) + "m";
        }
        if (msAbs >= s) {
          return Math.round(ms / s) + "s";
        }
        return ms + "ms";
      }
      function fmtLong(ms) {
        var msAbs = Math.abs(ms);
        if (msAbs >= d) {
          return plural(ms, msAbs, d, "day");
        }
        if (msAbs >= h) {
          return plural(ms, msAbs, h, "hour");
        }
        if (msAbs >= m) {
          return plural(ms, msAbs, m, "minute");
        }
        if (msAbs >= s) {
          return plural(ms, msAbs, s, "second");
        }
        return ms + " ms";
      }
      function plural(ms, msAbs, n, name) {
        var isPlural = msAbs >= n * 1.5;
        return Math.round(ms / n) + " " + name + (isPlural ? "s" : "");
      }
    }
  });

  // node_modules/debug/src/common.js
  var require_common = __commonJS({
    "node_modules/debug/src/common.js"(exports, module) {
      function setup(env) {
        createDebug.debug = createDebug;
        createDebug.default = createDebug;
        createDebug.coerce = coerce;
        createDebug.disable = disable;
        createDebug.enable = enable;
        createDebug.enabled = enabled;
        createDebug.humanize = require_ms();
        createDebug.destroy = destroy;
        Object.keys(env).forEach((key) => {
          createDebug[key] = env[key];
        });
        createDebug.names = [];
        createDebug.skips = [];
        createDebug.formatters = {};
        function selectColor(namespace) {
          let hash = 0;
          for (let i = 0; i < namespace.length; i++) {
            hash = (hash << 5) - hash + namespace.charCodeAt(i);
            hash |= 0;
          }
          return createDebug.colors[Math.abs(hash) % createDebug.colors.length];
        }
        createDebug.selectColor = selectColor;
        function createDebug(namespace) {
          let prevTime;
          let enableOverride = null;
          let namespacesCache;
          let enabledCache;
          function debug5(...args) {
            if (!debug5.enabled) {
              return;
            }
            const self2 = debug5;
            const curr = Number(/* @__PURE__ */ new Date());
            const ms = curr - (prevTime || curr);
            self2.diff = ms;
            self2.prev = prevTime;
            self2.curr = curr;
            prevTime = curr;
            args[0] = createDebug.coerce(args[0]);
            if (typeof args[0] !== "string") {
              args.unshift("%O");
            }
            let index = 0;
            args[0] = args[0].replace(/%([a-zA-Z%])/g, (match, format) => {
              if (match === "%%") {
                return "%";
              }
              index++;
              const formatter = createDebug.formatters[format];
              if (typeof formatter === "function") {
                const val = args[index];
                match = formatter.call(self2, val);
                args.splice(index, 1);
                index--;
              }
              return match;
            });
            createDebug.formatArgs.call(self2, args);
            const logFn = self2.log || createDebug.log;
            logFn.apply(self2, args);
          }
          debug5.namespace = namespace;
          debug5.useColors = createDebug.useColors();
          debug5.color = createDebug.selectColor(namespace);
          debug5.extend = extend;
          debug5.destroy = createDebug.destroy;
          Object.defineProperty(debug5, "enabled", {
            enumerable: true,
            configurable: false,
            get: () => {
              if (enableOverride !== null) {
                return enableOverride;
              }
              if (namespacesCache !== createDebug.namespaces) {
                namespacesCache = createDebug.namespaces;
                enabledCache = createDebug.enabled(namespace);
              }
              return enabledCache;
            },
            set: (v) => {
              enableOverride = v;
            }
          });
          if (typeof createDebug.init === "function") {
            createDebug.init(debug5);
          }
          return debug5;
        }
        function extend(namespace, delimiter) {
          const newDebug = createDebug(this.namespace + (typeof delimiter === "undefined" ? ":" : delimiter) + namespace);
          newDebug.log = this.log;
          return newDebug;
        }
        function enable(namespaces) {
          createDebug.save(namespaces);
          createDebug.namespaces = namespaces;
          createDebug.names = [];
          createDebug.skips = [];
          const split = (typeof namespaces === "string" ? namespaces : "").trim().replace(/\s+/g, ",").split(",").filter(Boolean);
          for (const ns of split) {
            if (ns[0] === "-") {
              createDebug.skips.push(ns.slice(1));
            } else {
              createDebug.names.push(ns);
            }
          }
        }
        function matchesTemplate(search, template) {
          let searchIndex = 0;
          let templateIndex = 0;
          let starIndex = -1;
          let matchIndex = 0;
          while (searchIndex < search.length) {
            if (templateIndex < template.length && (template[templateIndex] === search[searchIndex] || template[templateIndex] === "*")) {
              if (template[templateIndex] === "*") {
                starIndex = templateIndex;
                matchIndex = searchIndex;
                templateIndex++;
              } else {
                searchIndex++;
                templateIndex++;
              }
            } else if (starIndex !== -1) {
              templateIndex = starIndex + 1;
              matchIndex++;
              searchIndex = matchIndex;
            } else {
              return false;
            }
          }
          while (templateIndex < template.length && template[templateIndex] === "*") {
            templateIndex++;
          }
          return templateIndex === template.length;
        }
        function disable() {
          const namespaces = [
            ...createDebug.names,
            ...createDebug.skips.map((namespace) => "-" + namespace)
          ].join(",");
          createDebug.enable("");
          return namespaces;
        }
        function enabled(name) {
          for (const skip of createDebug.skips) {
            if (matchesTemplate(name, skip)) {
              return false;
            }
          }
          for (const ns of createDebug.names) {
            if (matchesTemplate(name, ns)) {
              return true;
            }
          }
          return false;
        }
        function coerce(val) {
          if (val instanceof Error) {
            return val.stack || val.message;
          }
          return val;
        }
        function destroy() {
          console.warn("Instance method `debug.destroy()` is deprecated and no longer does anything. It will be removed in the next major version of `debug`.");
        }
        createDebug.enable(createDebug.load());
        return createDebug;
      }
      module.exports = setup;
    }
  });

  // node_modules/debug/src/browser.js
  var require_browser = __commonJS({
    "node_modules/debug/src/browser.js"(exports, module) {
      exports.formatArgs = formatArgs;
      exports.save = save;
      exports.load = load;
      exports.useColors = useColors;
      exports.storage = localstorage();
      exports.destroy = /* @__PURE__ */ (() => {
        let warned = false;
        return () => {
          if (!warned) {
            warned = true;
            console.warn("Instance method `debug.destroy()` is deprecated and no longer does anything. It will be removed in the next major version of `debug`.");
          }
        };
      })();
      exports.colors = [
        "#0000CC",
        "#0000FF",
        "#0033CC",
        "#0033FF",
        "#0066CC",
        "#0066FF",
        "#0099CC",
        "#0099FF",
        "#00CC00",
        "#00CC33",
        "#00CC66",
        "#00CC99",
        "#00CCCC",
        "#00CCFF",
        "#3300CC",
        "#3300FF",
        "#3333CC",
        "#3333FF",
        "#3366CC",
        "#3366FF",
        "#3399CC",
        "#3399FF",
        "#33CC00",
        "#33CC33",
        "#33CC66",
        "#33CC99",
        "#33CCCC",
        "#33CCFF",
        "#6600CC",
        "#6600FF",
        "#6633CC",
        "#6633FF",
        "#66CC00",
        "#66CC33",
        "#9900CC",
        "#9900FF",
        "#9933CC",
        "#9933FF",
        "#99CC00",
        "#99CC33",
        "#CC0000",
        "#CC0033",
        "#CC0066",
        "#CC0099",
        "#CC00CC",
        "#CC00FF",
        "#CC3300",
        "#CC3333",
        "#CC3366",
        "#CC3399",
        "#CC33CC",
        "#CC33FF",
        "#CC6600",
        "#CC6633",
        "#CC9900",
        "#CC9933",
        "#CCCC00",
        "#CCCC33",
        "#FF0000",
        "#FF0033",
        "#FF0066",
        "#FF0099",
        "#FF00CC",
        "#FF00FF",
        "#FF3300",
        "#FF3333",
        "#FF3366",
        "#FF3399",
        "#FF33CC",
        "#FF33FF",
        "#FF6600",
        "#FF6633",
        "#FF9900",
        "#FF9933",
        "#FFCC00",
        "#FFCC33"
      ];
      function useColors() {
        if (typeof window !== "undefined" && window.process && (window.process.type === "renderer" || window.process.__nwjs)) {
          return true;
        }
        if (typeof navigator !== "undefined" && navigator.userAgent && navigator.userAgent.toLowerCase().match(/(edge|trident)\/(\d+)/)) {
          return false;
        }
        let m;
        return typeof document !== "undefined" && document.documentElement && document.documentElement.style && document.documentElement.style.WebkitAppearance || // Is firebug? http://stackoverflow.com/a/398120/376773
        typeof window !== "undefined" && window.console && (window.console.firebug || window.console.exception && window.console.table) || // Is firefox >= v31?
        // https://developer.mozilla.org/en-US/docs/Tools/Web_Console#Styling_messages
        typeof navigator !== "undefined" && navigator.userAgent && (m = navigator.userAgent.toLowerCase().match(/firefox\/(\d+)/)) && parseInt(m[1], 10) >= 31 || // Double check webkit in userAgent just in case we are in a worker
        typeof navigator !== "undefined" && navigator.userAgent && navigator.userAgent.toLowerCase().match(/applewebkit\/(\d+)/);
      }
      function formatArgs(args) {
        args[0] = (this.useColors ? "%c" : "") + this.namespace + (this.useColors ? " %c" : " ") + args[0] + (this.useColors ? "%c " : " ") + "+" + module.exports.humanize(this.diff);
        if (!this.useColors) {
          return;
        }
        const c = "color: " + this.color;
        args.splice(1, 0, c, "color: inherit");
        let index = 0;
        let lastC = 0;
        args[0].replace(/%[a-zA-Z%]/g, (match) => {
          if (match === "%%") {
            return;
          }
          index++;
          if (match === "%c") {
            lastC = index;
          }
        });
        args.splice(lastC, 0, c);
      }
      exports.log = console.debug || console.log || (() => {
      });
      function save(namespaces) {
        try {
          if (namespaces) {
            exports.storage.setItem("debug", namespaces);
          } else {
            exports.storage.removeItem("debug");
          }
        } catch (error) {
        }
      }
      function load() {
        let r;
        try {
          r = exports.storage.getItem("debug") || exports.storage.getItem("DEBUG");
        } catch (error) {
        }
        if (!r && typeof process !== "undefined" && "env" in process) {
          r = process.env.DEBUG;
        }
        return r;
      }
      function localstorage() {
        try {
          return localStorage;
        } catch (error) {
        }
      }
      module.exports = require_common()(exports);
      var { formatters } = module.exports;
      formatters.j = function(v) {
        try {
          return JSON.stringify(v);
        } catch (error) {
          return "[UnexpectedJSONParseError]: " + error.message;
        }
      };
    }
  });

  // node_modules/events/events.js
  var require_events = __commonJS({
    "node_modules/events/events.js"(exports, module) {
      "use strict";
      var R = typeof Reflect === "object" ? Reflect : null;
      var ReflectApply = R && typeof R.apply === "function" ? R.apply : function ReflectApply2(target, receiver, args) {
        return Function.prototype.apply.call(target, receiver, args);
      };
      var ReflectOwnKeys;
      if (R && typeof R.ownKeys === "function") {
        ReflectOwnKeys = R.ownKeys;
      } else if (Object.getOwnPropertySymbols) {
        ReflectOwnKeys = function ReflectOwnKeys2(target) {
          return Object.getOwnPropertyNames(target).concat(Object.getOwnPropertySymbols(target));
        };
      } else {
        ReflectOwnKeys = function ReflectOwnKeys2(target) {
          return Object.getOwnPropertyNames(target);
        };
      }
      function ProcessEmitWarning(warning) {
        if (console && console.warn) console.warn(warning);
      }
      var NumberIsNaN = Number.isNaN || function NumberIsNaN2(value) {
        return value !== value;
      };
      function EventEmitter3() {
        EventEmitter3.init.call(this);
      }
      module.exports = EventEmitter3;
      module.exports.once = once2;
      EventEmitter3.EventEmitter = EventEmitter3;
      EventEmitter3.prototype._events = void 0;
      EventEmitter3.prototype._eventsCount = 0;
      EventEmitter3.prototype._maxListeners = void 0;
      var defaultMaxListeners = 10;
      function checkListener(listener) {
        if (typeof listener !== "function") {
          throw new TypeError('The "listener" argument must be of type Function. Received type ' + typeof listener);
        }
      }
      Object.defineProperty(EventEmitter3, "defaultMaxListeners", {
        enumerable: true,
        get: function() {
          return defaultMaxListeners;
        },
        set: function(arg) {
          if (typeof arg !== "number" || arg < 0 || NumberIsNaN(arg)) {
            throw new RangeError('The value of "defaultMaxListeners" is out of range. It must be a non-negative number. Received ' + arg + ".");
          }
          defaultMaxListeners = arg;
        }
      });
      EventEmitter3.init = function() {
        if (this._events === void 0 || this._events === Object.getPrototypeOf(this)._events) {
          this._events = /* @__PURE__ */ Object.create(null);
          this._eventsCount = 0;
        }
        this._maxListeners = this._maxListeners || void 0;
      };
      EventEmitter3.prototype.setMaxListeners = function setMaxListeners(n) {
        if (typeof n !== "number" || n < 0 || NumberIsNaN(n)) {
          throw new RangeError('The value of "n" is out of range. It must be a non-negative number. Received ' + n + ".");
        }
        this._maxListeners = n;
        return this;
      };
      function _getMaxListeners(that) {
        if (that._maxListeners === void 0)
          return EventEmitter3.defaultMaxListeners;
        return that._maxListeners;
      }
      EventEmitter3.prototype.getMaxListeners = function getMaxListeners() {
        return _getMaxListeners(this);
      };
      EventEmitter3.prototype.emit = function emit(type) {
        var args = [];
        for (var i = 1; i < arguments.length; i++) args.push(arguments[i]);
        var doError = type === "error";
        var events = this._events;
        if (events !== void 0)
          doError = doError && events.error === void 0;
        else if (!doError)
          return false;
        if (doError) {
          var er;
          if (args.length > 0)
            er = args[0];
          if (er instanceof Error) {
            throw er;
          }
          var err = new Error("Unhandled error." + (er ? " (" + er.message + ")" : ""));
          err.context = er;
          throw err;
        }
        var handler = events[type];
        if (handler === void 0)
          return false;
        if (typeof handler === "function") {
          ReflectApply(handler, this, args);
        } else {
          var len = handler.length;
          var listeners = arrayClone(handler, len);
          for (var i = 0; i < len; ++i)
            ReflectApply(listeners[i], this, args);
        }
        return true;
      };
      function _addListener(target, type, listener, prepend) {
        var m;
        var events;
        var existing;
        checkListener(listener);
        events = target._events;
        if (events === void 0) {
          events = target._events = /* @__PURE__ */ Object.create(null);
          target._eventsCount = 0;
        } else {
          if (events.newListener !== void 0) {
            target.emit(
              "newListener",
              type,
              listener.listener ? listener.listener : listener
            );
            events = target._events;
          }
          existing = events[type];
        }
        if (existing === void 0) {
          existing = events[type] = listener;
          ++target._eventsCount;
        } else {
          if (typeof existing === "function") {
            existing = events[type] = prepend ? [listener, existing] : [existing, listener];
          } else if (prepend) {
            existing.unshift(listener);
          } else {
            existing.push(listener);
          }
          m = _getMaxListeners(target);
          if (m > 0 && existing.length > m && !existing.warned) {
            existing.warned = true;
            var w = new Error("Possible EventEmitter memory leak detected. " + existing.length + " " + String(type) + " listeners added. Use emitter.setMaxListeners() to increase limit");
            w.name = "MaxListenersExceededWarning";
            w.emitter = target;
            w.type = type;
            w.count = existing.length;
            ProcessEmitWarning(w);
          }
        }
        return target;
      }
      EventEmitter3.prototype.addListener = function addListener(type, listener) {
        return _addListener(this, type, listener, false);
      };
      EventEmitter3.prototype.on = EventEmitter3.prototype.addListener;
      EventEmitter3.prototype.prependListener = function prependListener(type, listener) {
        return _addListener(this, type, listener, true);
      };
      function onceWrapper() {
        if (!this.fired) {
          this.target.removeListener(this.type, this.wrapFn);
          this.fired = true;
          if (arguments.length === 0)
            return this.listener.call(this.target);
          return this.listener.apply(this.target, arguments);
        }
      }
      function _onceWrap(target, type, listener) {
        var state = { fired: false, wrapFn: void 0, target, type, listener };
        var wrapped = onceWrapper.bind(state);
        wrapped.listener = listener;
        state.wrapFn = wrapped;
        return wrapped;
      }
      EventEmitter3.prototype.once = function once3(type, listener) {
        checkListener(listener);
        this.on(type, _onceWrap(this, type, listener));
        return this;
      };
      EventEmitter3.prototype.prependOnceListener = function prependOnceListener(type, listener) {
        checkListener(listener);
        this.prependListener(type, _onceWrap(this, type, listener));
        return this;
      };
      EventEmitter3.prototype.removeListener = function removeListener(type, listener) {
        var list, events, position, i, originalListener;
        checkListener(listener);
        events = this._events;
        if (events === void 0)
          return this;
        list = events[type];
        if (list === void 0)
          return this;
        if (list === listener || list.listener === listener) {
          if (--this._eventsCount === 0)
            this._events = /* @__PURE__ */ Object.create(null);
          else {
            delete events[type];
            if (events.removeListener)
              this.emit("removeListener", type, list.listener || listener);
          }
        } else if (typeof list !== "function") {
          position = -1;
          for (i = list.length - 1; i >= 0; i--) {
            if (list[i] === listener || list[i].listener === listener) {
              originalListener = list[i].listener;
              position = i;
              break;
            }
          }
          if (position < 0)
            return this;
          if (position === 0)
            list.shift();
          else {
            spliceOne(list, position);
          }
          if (list.length === 1)
            events[type] = list[0];
          if (events.removeListener !== void 0)
            this.emit("removeListener", type, originalListener || listener);
        }
        return this;
      };
      EventEmitter3.prototype.off = EventEmitter3.prototype.removeListener;
      EventEmitter3.prototype.removeAllListeners = function removeAllListeners(type) {
        var listeners, events, i;
        events = this._events;
        if (events === void 0)
          return this;
        if (events.removeListener === void 0) {
          if (arguments.length === 0) {
            this._events = /* @__PURE__ */ Object.create(null);
            this._eventsCount = 0;
          } else if (events[type] !== void 0) {
            if (--this._eventsCount === 0)
              this._events = /* @__PURE__ */ Object.create(null);
            else
              delete events[type];
          }
          return this;
        }
        if (arguments.length === 0) {
          var keys = Object.keys(events);
          var key;
          for (i = 0; i < keys.length; ++i) {
            key = keys[i];
            if (key === "removeListener") continue;
            this.removeAllListeners(key);
          }
          this.removeAllListeners("removeListener");
          this._events = /* @__PURE__ */ Object.create(null);
          this._eventsCount = 0;
          return this;
        }
        listeners = events[type];
        if (typeof listeners === "function") {
          this.removeListener(type, listeners);
        } else if (listeners !== void 0) {
          for (i = listeners.length - 1; i >= 0; i--) {
            this.removeListener(type, listeners[i]);
          }
        }
        return this;
      };
      function _listeners(target, type, unwrap) {
        var events = target._events;
        if (events === void 0)
          return [];
        var evlistener = events[type];
        if (evlistener === void 0)
          return [];
        if (typeof evlistener === "function")
          return unwrap ? [evlistener.listener || evlistener] : [evlistener];
        return unwrap ? unwrapListeners(evlistener) : arrayClone(evlistener, evlistener.length);
      }
      EventEmitter3.prototype.listeners = function listeners(type) {
        return _listeners(this, type, true);
      };
      EventEmitter3.prototype.rawListeners = function rawListeners(type) {
        return _listeners(this, type, false);
      };
      EventEmitter3.listenerCount = function(emitter, type) {
        if (typeof emitter.listenerCount === "function") {
          return emitter.listenerCount(type);
        } else {
          return listenerCount.call(emitter, type);
        }
      };
      EventEmitter3.prototype.listenerCount = listenerCount;
      function listenerCount(type) {
        var events = this._events;
        if (events !== void 0) {
          var evlistener = events[type];
          if (typeof evlistener === "function") {
            return 1;
          } else if (evlistener !== void 0) {
            return evlistener.length;
          }
        }
        return 0;
      }
      EventEmitter3.prototype.eventNames = function eventNames() {
        return this._eventsCount > 0 ? ReflectOwnKeys(this._events) : [];
      };
      function arrayClone(arr, n) {
        var copy = new Array(n);
        for (var i = 0; i < n; ++i)
          copy[i] = arr[i];
        return copy;
      }
      function spliceOne(list, index) {
        for (; index + 1 < list.length; index++)
          list[index] = list[index + 1];
        list.pop();
      }
      function unwrapListeners(arr) {
        var ret = new Array(arr.length);
        for (var i = 0; i < ret.length; ++i) {
          ret[i] = arr[i].listener || arr[i];
        }
        return ret;
      }
      function once2(emitter, name) {
        return new Promise(function(resolve, reject) {
          function errorListener(err) {
            emitter.removeListener(name, resolver);
            reject(err);
          }
          function resolver() {
            if (typeof emitter.removeListener === "function") {
              emitter.removeListener("error", errorListener);
            }
            resolve([].slice.call(arguments));
          }
          ;
          eventTargetAgnosticAddListener(emitter, name, resolver, { once: true });
          if (name !== "error") {
            addErrorHandlerIfEventEmitter(emitter, errorListener, { once: true });
          }
        });
      }
      function addErrorHandlerIfEventEmitter(emitter, handler, flags) {
        if (typeof emitter.on === "function") {
          eventTargetAgnosticAddListener(emitter, "error", handler, flags);
        }
      }
      function eventTargetAgnosticAddListener(emitter, name, listener, flags) {
        if (typeof emitter.on === "function") {
          if (flags.once) {
            emitter.once(name, listener);
          } else {
            emitter.on(name, listener);
          }
        } else if (typeof emitter.addEventListener === "function") {
          emitter.addEventListener(name, function wrapListener(arg) {
            if (flags.once) {
              emitter.removeEventListener(name, wrapListener);
            }
            listener(arg);
          });
        } else {
          throw new TypeError('The "emitter" argument must be of type EventEmitter. Received type ' + typeof emitter);
        }
      }
    }
  });

  // node_modules/wrappy/wrappy.js
  var require_wrappy = __commonJS({
    "node_modules/wrappy/wrappy.js"(exports, module) {
      module.exports = wrappy;
      function wrappy(fn, cb) {
        if (fn && cb) return wrappy(fn)(cb);
        if (typeof fn !== "function")
          throw new TypeError("need wrapper function");
        Object.keys(fn).forEach(function(k) {
          wrapper[k] = fn[k];
        });
        return wrapper;
        function wrapper() {
          var args = new Array(arguments.length);
          for (var i = 0; i < args.length; i++) {
            args[i] = arguments[i];
          }
          var ret = fn.apply(this, args);
          var cb2 = args[args.length - 1];
          if (typeof ret === "function" && ret !== cb2) {
            Object.keys(cb2).forEach(function(k) {
              ret[k] = cb2[k];
            });
          }
          return ret;
        }
      }
    }
  });

  // node_modules/once/once.js
  var require_once = __commonJS({
    "node_modules/once/once.js"(exports, module) {
      var wrappy = require_wrappy();
      module.exports = wrappy(once2);
      module.exports.strict = wrappy(onceStrict);
      once2.proto = once2(function() {
        Object.defineProperty(Function.prototype, "once", {
          value: function() {
            return once2(this);
          },
          configurable: true
        });
        Object.defineProperty(Function.prototype, "onceStrict", {
          value: function() {
            return onceStrict(this);
          },
          configurable: true
        });
      });
      function once2(fn) {
        var f = function() {
          if (f.called) return f.value;
          f.called = true;
          return f.value = fn.apply(this, arguments);
        };
        f.called = false;
        return f;
      }
      function onceStrict(fn) {
        var f = function() {
          if (f.called)
            throw new Error(f.onceError);
          f.called = true;
          return f.value = fn.apply(this, arguments);
        };
        var name = fn.name || "Function wrapped with `once`";
        f.onceError = name + " shouldn't be called more than once";
        f.called = false;
        return f;
      }
    }
  });

  // node_modules/queue-microtask/index.js
  var require_queue_microtask = __commonJS({
    "node_modules/queue-microtask/index.js"(exports, module) {
      var promise;
      module.exports = typeof queueMicrotask === "function" ? queueMicrotask.bind(typeof window !== "undefined" ? window : globalThis) : (cb) => (promise || (promise = Promise.resolve())).then(cb).catch((err) => setTimeout(() => {
        throw err;
      }, 0));
    }
  });

  // node_modules/run-parallel/index.js
  var require_run_parallel = __commonJS({
    "node_modules/run-parallel/index.js"(exports, module) {
      module.exports = runParallel;
      var queueMicrotask4 = require_queue_microtask();
      function runParallel(tasks, cb) {
        let results, pending, keys;
        let isSync = true;
        if (Array.isArray(tasks)) {
          results = [];
          pending = tasks.length;
        } else {
          keys = Object.keys(tasks);
          results = {};
          pending = keys.length;
        }
        function done(err) {
          function end() {
            if (cb) cb(err, results);
            cb = null;
          }
          if (isSync) queueMicrotask4(end);
          else end();
        }
        function each(i, err, result) {
          results[i] = result;
          if (--pending === 0 || err) {
            done(err);
          }
        }
        if (!pending) {
          done(null);
        } else if (keys) {
          keys.forEach(function(key) {
            tasks[key](function(err, result) {
              each(key, err, result);
            });
          });
        } else {
          tasks.forEach(function(task, i) {
            task(function(err, result) {
              each(i, err, result);
            });
          });
        }
        isSync = false;
      }
    }
  });

  // node_modules/events-universal/default.js
  var require_default = __commonJS({
    "node_modules/events-universal/default.js"(exports, module) {
      module.exports = require_events();
    }
  });

  // node_modules/fast-fifo/fixed-size.js
  var require_fixed_size = __commonJS({
    "node_modules/fast-fifo/fixed-size.js"(exports, module) {
      module.exports = class FixedFIFO {
        constructor(hwm) {
          if (!(hwm > 0) || (hwm - 1 & hwm) !== 0) throw new Error("Max size for a FixedFIFO should be a power of two");
          this.buffer = new Array(hwm);
          this.mask = hwm - 1;
          this.top = 0;
          this.btm = 0;
          this.next = null;
        }
        clear() {
          this.top = this.btm = 0;
          this.next = null;
          this.buffer.fill(void 0);
        }
        push(data) {
          if (this.buffer[this.top] !== void 0) return false;
          this.buffer[this.top] = data;
          this.top = this.top + 1 & this.mask;
          return true;
        }
        shift() {
          const last = this.buffer[this.btm];
          if (last === void 0) return void 0;
          this.buffer[this.btm] = void 0;
          this.btm = this.btm + 1 & this.mask;
          return last;
        }
        peek() {
          return this.buffer[this.btm];
        }
        isEmpty() {
          return this.buffer[this.btm] === void 0;
        }
      };
    }
  });

  // node_modules/fast-fifo/index.js
  var require_fast_fifo = __commonJS({
    "node_modules/fast-fifo/index.js"(exports, module) {
      var FixedFIFO = require_fixed_size();
      module.exports = class FastFIFO {
        constructor(hwm) {
          this.hwm = hwm || 16;
          this.head = new FixedFIFO(this.hwm);
          this.tail = this.head;
          this.length = 0;
        }
        clear() {
          this.head = this.tail;
          this.head.clear();
          this.length = 0;
        }
        push(val) {
          this.length++;
          if (!this.head.push(val)) {
            const prev = this.head;
            this.head = prev.next = new FixedFIFO(2 * this.head.buffer.length);
            this.head.push(val);
          }
        }
        shift() {
          if (this.length !== 0) this.length--;
          const val = this.tail.shift();
          if (val === void 0 && this.tail.next) {
            const next = this.tail.next;
            this.tail.next = null;
            this.tail = next;
            return this.tail.shift();
          }
          return val;
        }
        peek() {
          const val = this.tail.peek();
          if (val === void 0 && this.tail.next) return this.tail.next.peek();
          return val;
        }
        isEmpty() {
          return this.length === 0;
        }
      };
    }
  });

  // node_modules/b4a/lib/ascii.js
  var require_ascii = __commonJS({
    "node_modules/b4a/lib/ascii.js"(exports, module) {
      function byteLength(string) {
        return string.length;
      }
      function toString(buffer) {
        const len = buffer.byteLength;
        let result = "";
        for (let i = 0; i < len; i++) {
          result += String.fromCharCode(buffer[i] & 127);
        }
        return result;
      }
      function write(buffer, string) {
        const len = buffer.byteLength;
        for (let i = 0; i < len; i++) {
          buffer[i] = string.charCodeAt(i);
        }
        return len;
      }
      module.exports = {
        byteLength,
        toString,
        write
      };
    }
  });

  // node_modules/b4a/lib/base64.js
  var require_base64 = __commonJS({
    "node_modules/b4a/lib/base64.js"(exports, module) {
      var alphabet2 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      var codes = new Uint8Array(256);
      for (let i = 0; i < alphabet2.length; i++) {
        codes[alphabet2.charCodeAt(i)] = i;
      }
      codes[
        /* - */
        45
      ] = 62;
      codes[
        /* _ */
        95
      ] = 63;
      function byteLength(string) {
        let len = string.length;
        if (string.charCodeAt(len - 1) === 61) len--;
        if (len > 1 && string.charCodeAt(len - 1) === 61) len--;
        return len * 3 >>> 2;
      }
      function toString(buffer) {
        const len = buffer.byteLength;
        let result = "";
        for (let i = 0; i < len; i += 3) {
          result += alphabet2[buffer[i] >> 2] + alphabet2[(buffer[i] & 3) << 4 | buffer[i + 1] >> 4] + alphabet2[(buffer[i + 1] & 15) << 2 | buffer[i + 2] >> 6] + alphabet2[buffer[i + 2] & 63];
        }
        if (len % 3 === 2) {
          result = result.substring(0, result.length - 1) + "=";
        } else if (len % 3 === 1) {
          result = result.substring(0, result.length - 2) + "==";
        }
        return result;
      }
      function write(buffer, string) {
        const len = buffer.byteLength;
        for (let i = 0, j = 0; j < len; i += 4) {
          const a = codes[string.charCodeAt(i)];
          const b = codes[string.charCodeAt(i + 1)];
          const c = codes[string.charCodeAt(i + 2)];
          const d = codes[string.charCodeAt(i + 3)];
          buffer[j++] = a << 2 | b >> 4;
          buffer[j++] = (b & 15) << 4 | c >> 2;
          buffer[j++] = (c & 3) << 6 | d & 63;
        }
        return len;
      }
      module.exports = {
        byteLength,
        toString,
        write
      };
    }
  });

  // node_modules/b4a/lib/hex.js
  var require_hex = __commonJS({
    "node_modules/b4a/lib/hex.js"(exports, module) {
      function byteLength(string) {
        return string.length >>> 1;
      }
      function toString(buffer) {
        const len = buffer.byteLength;
        buffer = new DataView(buffer.buffer, buffer.byteOffset, len);
        let result = "";
        let i = 0;
        for (let n = len - len % 4; i < n; i += 4) {
          result += buffer.getUint32(i).toString(16).padStart(8, "0");
        }
        for (; i < len; i++) {
          result += buffer.getUint8(i).toString(16).padStart(2, "0");
        }
        return result;
      }
      function write(buffer, string) {
        const len = buffer.byteLength;
        for (let i = 0; i < len; i++) {
          const a = hexValue(string.charCodeAt(i * 2));
          const b = hexValue(string.charCodeAt(i * 2 + 1));
          if (a === void 0 || b === void 0) {
            return i;
          }
          buffer[i] = a << 4 | b;
        }
        return len;
      }
      module.exports = {
        byteLength,
        toString,
        write
      };
      function hexValue(char) {
        if (char >= 48 && char <= 57) return char - 48;
        if (char >= 65 && char <= 70) return char - 65 + 10;
        if (char >= 97 && char <= 102) return char - 97 + 10;
      }
    }
  });

  // node_modules/b4a/lib/latin1.js
  var require_latin1 = __commonJS({
    "node_modules/b4a/lib/latin1.js"(exports, module) {
      function byteLength(string) {
        return string.length;
      }
      function toString(buffer) {
        const len = buffer.byteLength;
        let result = "";
        for (let i = 0; i < len; i++) {
          result += String.fromCharCode(buffer[i]);
        }
        return result;
      }
      function write(buffer, string) {
        const len = buffer.byteLength;
        for (let i = 0; i < len; i++) {
          buffer[i] = string.charCodeAt(i);
        }
        return len;
      }
      module.exports = {
        byteLength,
        toString,
        write
      };
    }
  });

  // node_modules/b4a/lib/utf8.js
  var require_utf8 = __commonJS({
    "node_modules/b4a/lib/utf8.js"(exports, module) {
      function byteLength(string) {
        let length = 0;
        for (let i = 0, n = string.length; i < n; i++) {
          const code = string.charCodeAt(i);
          if (code >= 55296 && code <= 56319 && i + 1 < n) {
            const code2 = string.charCodeAt(i + 1);
            if (code2 >= 56320 && code2 <= 57343) {
              length += 4;
              i++;
              continue;
            }
          }
          if (code <= 127) length += 1;
          else if (code <= 2047) length += 2;
          else length += 3;
        }
        return length;
      }
      var toString;
      if (typeof TextDecoder !== "undefined") {
        const decoder2 = new TextDecoder();
        toString = function toString2(buffer) {
          return decoder2.decode(buffer);
        };
      } else {
        toString = function toString2(buffer) {
          const len = buffer.byteLength;
          let output = "";
          let i = 0;
          while (i < len) {
            let byte = buffer[i];
            if (byte <= 127) {
              output += String.fromCharCode(byte);
              i++;
              continue;
            }
            let bytesNeeded = 0;
            let codePoint = 0;
            if (byte <= 223) {
              bytesNeeded = 1;
              codePoint = byte & 31;
            } else if (byte <= 239) {
              bytesNeeded = 2;
              codePoint = byte & 15;
            } else if (byte <= 244) {
              bytesNeeded = 3;
              codePoint = byte & 7;
            }
            if (len - i - bytesNeeded > 0) {
              let k = 0;
              while (k < bytesNeeded) {
                byte = buffer[i + k + 1];
                codePoint = codePoint << 6 | byte & 63;
                k += 1;
              }
            } else {
              codePoint = 65533;
              bytesNeeded = len - i;
            }
            output += String.fromCodePoint(codePoint);
            i += bytesNeeded + 1;
          }
          return output;
        };
      }
      var write;
      if (typeof TextEncoder !== "undefined") {
        const encoder2 = new TextEncoder();
        write = function write2(buffer, string) {
          return encoder2.encodeInto(string, buffer).written;
        };
      } else {
        write = function write2(buffer, string) {
          const len = buffer.byteLength;
          let i = 0;
          let j = 0;
          while (i < string.length) {
            const code = string.codePointAt(i);
            if (code <= 127) {
              if (j + 1 > len) break;
              buffer[j++] = code;
              i++;
              continue;
            }
            let count = 0;
            let bits = 0;
            if (code <= 2047) {
              count = 6;
              bits = 192;
            } else if (code <= 65535) {
              count = 12;
              bits = 224;
            } else if (code <= 2097151) {
              count = 18;
              bits = 240;
            }
            if (j + count / 6 + 1 > len) break;
            buffer[j++] = bits | code >> count;
            count -= 6;
            while (count >= 0) {
              buffer[j++] = 128 | code >> count & 63;
              count -= 6;
            }
            i += code >= 65536 ? 2 : 1;
          }
          return j;
        };
      }
      module.exports = {
        byteLength,
        toString,
        write
      };
    }
  });

  // node_modules/b4a/lib/utf16le.js
  var require_utf16le = __commonJS({
    "node_modules/b4a/lib/utf16le.js"(exports, module) {
      function byteLength(string) {
        return string.length * 2;
      }
      function toString(buffer) {
        const len = buffer.byteLength;
        let result = "";
        for (let i = 0; i < len - 1; i += 2) {
          result += String.fromCharCode(buffer[i] + buffer[i + 1] * 256);
        }
        return result;
      }
      function write(buffer, string) {
        const len = buffer.byteLength;
        let units = len;
        for (let i = 0; i < string.length; ++i) {
          if ((units -= 2) < 0) break;
          const c = string.charCodeAt(i);
          const hi = c >> 8;
          const lo = c % 256;
          buffer[i * 2] = lo;
          buffer[i * 2 + 1] = hi;
        }
        return len;
      }
      module.exports = {
        byteLength,
        toString,
        write
      };
    }
  });

  // node_modules/b4a/browser.js
  var require_browser2 = __commonJS({
    "node_modules/b4a/browser.js"(exports, module) {
      var ascii = require_ascii();
      var base64 = require_base64();
      var hex = require_hex();
      var latin1 = require_latin1();
      var utf8 = require_utf8();
      var utf16le = require_utf16le();
      var LE = new Uint8Array(Uint16Array.of(255).buffer)[0] === 255;
      function codecFor(encoding) {
        switch (encoding) {
          case "ascii":
            return ascii;
          case "base64":
            return base64;
          case "hex":
            return hex;
          case "binary":
          case "latin1":
            return latin1;
          case "utf8":
          case "utf-8":
          case void 0:
          case null:
            return utf8;
          case "ucs2":
          case "ucs-2":
          case "utf16le":
          case "utf-16le":
            return utf16le;
          default:
            throw new Error(`Unknown encoding '${encoding}'`);
        }
      }
      function isBuffer(value) {
        return value instanceof Uint8Array;
      }
      function isEncoding(encoding) {
        try {
          codecFor(encoding);
          return true;
        } catch {
          return false;
        }
      }
      function alloc(size, fill2, encoding) {
        const buffer = new Uint8Array(size);
        if (fill2 !== void 0) {
          exports.fill(buffer, fill2, 0, buffer.byteLength, encoding);
        }
        return buffer;
      }
      function allocUnsafe(size) {
        return new Uint8Array(size);
      }
      function allocUnsafeSlow(size) {
        return new Uint8Array(size);
      }
      function byteLength(string, encoding) {
        return codecFor(encoding).byteLength(string);
      }
      function compare(a, b) {
        if (a === b) return 0;
        const len = Math.min(a.byteLength, b.byteLength);
        a = new DataView(a.buffer, a.byteOffset, a.byteLength);
        b = new DataView(b.buffer, b.byteOffset, b.byteLength);
        let i = 0;
        for (let n = len - len % 4; i < n; i += 4) {
          const x = a.getUint32(i, LE);
          const y = b.getUint32(i, LE);
          if (x !== y) break;
        }
        for (; i < len; i++) {
          const x = a.getUint8(i);
          const y = b.getUint8(i);
          if (x < y) return -1;
          if (x > y) return 1;
        }
        return a.byteLength > b.byteLength ? 1 : a.byteLength < b.byteLength ? -1 : 0;
      }
      function concat(buffers, length) {
        if (length === void 0) {
          length = buffers.reduce((len, buffer) => len + buffer.byteLength, 0);
        }
        const result = new Uint8Array(length);
        let offset = 0;
        for (const buffer of buffers) {
          if (offset + buffer.byteLength > result.byteLength) {
            result.set(buffer.subarray(0, result.byteLength - offset), offset);
            return result;
          }
          result.set(buffer, offset);
          offset += buffer.byteLength;
        }
        return result;
      }
      function copy(source, target, targetStart = 0, sourceStart = 0, sourceEnd = source.byteLength) {
        if (targetStart < 0) targetStart = 0;
        if (targetStart >= target.byteLength) return 0;
        const targetLength = target.byteLength - targetStart;
        if (sourceStart < 0) sourceStart = 0;
        if (sourceStart >= source.byteLength) return 0;
        if (sourceEnd <= sourceStart) return 0;
        if (sourceEnd > source.byteLength) sourceEnd = source.byteLength;
        if (sourceEnd - sourceStart > targetLength) {
          sourceEnd = sourceStart + targetLength;
        }
        const sourceLength = sourceEnd - sourceStart;
        if (source === target) {
          target.copyWithin(targetStart, sourceStart, sourceEnd);
        } else {
          if (sourceStart !== 0 || sourceEnd !== source.byteLength) {
            source = source.subarray(sourceStart, sourceEnd);
          }
          target.set(source, targetStart);
        }
        return sourceLength;
      }
      function equals(a, b) {
        if (a === b) return true;
        if (a.byteLength !== b.byteLength) return false;
        return compare(a, b) === 0;
      }
      function fill(buffer, value, offset = 0, end = buffer.byteLength, encoding = "utf8") {
        if (typeof value === "string") {
          if (typeof offset === "string") {
            encoding = offset;
            offset = 0;
            end = buffer.byteLength;
          } else if (typeof end === "string") {
            encoding = end;
            end = buffer.byteLength;
          }
        } else if (typeof value === "number") {
          value = value & 255;
        } else if (typeof value === "boolean") {
          value = +value;
        }
        if (offset < 0) offset = 0;
        if (offset >= buffer.byteLength) return buffer;
        if (end <= offset) return buffer;
        if (end > buffer.byteLength) end = buffer.byteLength;
        if (typeof value === "number") return buffer.fill(value, offset, end);
        if (typeof value === "string") value = exports.from(value, encoding);
        const len = value.byteLength;
        for (let i = 0, n = end - offset; i < n; ++i) {
          buffer[i + offset] = value[i % len];
        }
        return buffer;
      }
      function from(value, encodingOrOffset, length) {
        if (typeof value === "string") return fromString(value, encodingOrOffset);
        if (Array.isArray(value)) return fromArray(value);
        if (ArrayBuffer.isView(value)) return fromBuffer(value);
        return fromArrayBuffer(value, encodingOrOffset, length);
      }
      function fromString(string, encoding) {
        const codec = codecFor(encoding);
        const buffer = new Uint8Array(codec.byteLength(string));
        codec.write(buffer, string);
        return buffer;
      }
      function fromArray(array) {
        const buffer = new Uint8Array(array.length);
        buffer.set(array);
        return buffer;
      }
      function fromBuffer(buffer) {
        const copy2 = new Uint8Array(buffer.byteLength);
        copy2.set(buffer);
        return copy2;
      }
      function fromArrayBuffer(arrayBuffer, byteOffset, length) {
        return new Uint8Array(arrayBuffer, byteOffset, length);
      }
      function includes(buffer, value, byteOffset, encoding) {
        return indexOf(buffer, value, byteOffset, encoding) !== -1;
      }
      function indexOf(buffer, value, byteOffset, encoding) {
        return bidirectionalIndexOf(
          buffer,
          value,
          byteOffset,
          encoding,
          true
          /* first */
        );
      }
      function lastIndexOf(buffer, value, byteOffset, encoding) {
        return bidirectionalIndexOf(
          buffer,
          value,
          byteOffset,
          encoding,
          false
          /* last */
        );
      }
      function bidirectionalIndexOf(buffer, value, byteOffset, encoding, first) {
        if (buffer.byteLength === 0) return -1;
        if (typeof byteOffset === "string") {
          encoding = byteOffset;
          byteOffset = 0;
        } else if (byteOffset === void 0) {
          byteOffset = first ? 0 : buffer.length - 1;
        } else if (byteOffset < 0) {
          byteOffset += buffer.byteLength;
        }
        if (byteOffset >= buffer.byteLength) {
          if (first) return -1;
          else byteOffset = buffer.byteLength - 1;
        } else if (byteOffset < 0) {
          if (first) byteOffset = 0;
          else return -1;
        }
        if (typeof value === "string") {
          value = from(value, encoding);
        } else if (typeof value === "number") {
          value = value & 255;
          if (first) {
            return buffer.indexOf(value, byteOffset);
          } else {
            return buffer.lastIndexOf(value, byteOffset);
          }
        }
        if (value.byteLength === 0) return -1;
        if (first) {
          let foundIndex = -1;
          for (let i = byteOffset; i < buffer.byteLength; i++) {
            if (buffer[i] === value[foundIndex === -1 ? 0 : i - foundIndex]) {
              if (foundIndex === -1) foundIndex = i;
              if (i - foundIndex + 1 === value.byteLength) return foundIndex;
            } else {
              if (foundIndex !== -1) i -= i - foundIndex;
              foundIndex = -1;
            }
          }
        } else {
          if (byteOffset + value.byteLength > buffer.byteLength) {
            byteOffset = buffer.byteLength - value.byteLength;
          }
          for (let i = byteOffset; i >= 0; i--) {
            let found = true;
            for (let j = 0; j < value.byteLength; j++) {
              if (buffer[i + j] !== value[j]) {
                found = false;
                break;
              }
            }
            if (found) return i;
          }
        }
        return -1;
      }
      function swap(buffer, n, m) {
        const i = buffer[n];
        buffer[n] = buffer[m];
        buffer[m] = i;
      }
      function swap16(buffer) {
        const len = buffer.byteLength;
        if (len % 2 !== 0) {
          throw new RangeError("Buffer size must be a multiple of 16-bits");
        }
        for (let i = 0; i < len; i += 2) swap(buffer, i, i + 1);
        return buffer;
      }
      function swap32(buffer) {
        const len = buffer.byteLength;
        if (len % 4 !== 0) {
          throw new RangeError("Buffer size must be a multiple of 32-bits");
        }
        for (let i = 0; i < len; i += 4) {
          swap(buffer, i, i + 3);
          swap(buffer, i + 1, i + 2);
        }
        return buffer;
      }
      function swap64(buffer) {
        const len = buffer.byteLength;
        if (len % 8 !== 0) {
          throw new RangeError("Buffer size must be a multiple of 64-bits");
        }
        for (let i = 0; i < len; i += 8) {
          swap(buffer, i, i + 7);
          swap(buffer, i + 1, i + 6);
          swap(buffer, i + 2, i + 5);
          swap(buffer, i + 3, i + 4);
        }
        return buffer;
      }
      function toBuffer(buffer) {
        return buffer;
      }
      function toString(buffer, encoding = "utf8", start = 0, end = buffer.byteLength) {
        if (arguments.length === 1) return utf8.toString(buffer);
        if (arguments.length === 2) return codecFor(encoding).toString(buffer);
        if (start < 0) start = 0;
        if (start >= buffer.byteLength) return "";
        if (end <= start) return "";
        if (end > buffer.byteLength) end = buffer.byteLength;
        if (start !== 0 || end !== buffer.byteLength) {
          buffer = buffer.subarray(start, end);
        }
        return codecFor(encoding).toString(buffer);
      }
      function toHex(buffer, start, end) {
        return toString(buffer, "hex", start, end);
      }
      function write(buffer, string, offset = 0, length = buffer.byteLength, encoding) {
        if (arguments.length === 2) return utf8.write(buffer, string);
        if (typeof offset === "string") {
          encoding = offset;
          offset = 0;
          length = buffer.byteLength;
        } else if (typeof length === "string") {
          encoding = length;
          length = buffer.byteLength - offset;
        }
        length = Math.min(length, exports.byteLength(string, encoding));
        let start = offset;
        if (start < 0) start = 0;
        if (start >= buffer.byteLength) return 0;
        let end = offset + length;
        if (end <= start) return 0;
        if (end > buffer.byteLength) end = buffer.byteLength;
        if (start !== 0 || end !== buffer.byteLength) {
          buffer = buffer.subarray(start, end);
        }
        return codecFor(encoding).write(buffer, string);
      }
      function readDoubleBE(buffer, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        return view.getFloat64(offset, false);
      }
      function readDoubleLE(buffer, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        return view.getFloat64(offset, true);
      }
      function readFloatBE(buffer, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        return view.getFloat32(offset, false);
      }
      function readFloatLE(buffer, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        return view.getFloat32(offset, true);
      }
      function readInt32BE(buffer, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        return view.getInt32(offset, false);
      }
      function readInt32LE(buffer, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        return view.getInt32(offset, true);
      }
      function readUInt32BE(buffer, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        return view.getUint32(offset, false);
      }
      function readUInt32LE(buffer, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        return view.getUint32(offset, true);
      }
      function writeDoubleBE(buffer, value, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        view.setFloat64(offset, value, false);
        return offset + 8;
      }
      function writeDoubleLE(buffer, value, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        view.setFloat64(offset, value, true);
        return offset + 8;
      }
      function writeFloatBE(buffer, value, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        view.setFloat32(offset, value, false);
        return offset + 4;
      }
      function writeFloatLE(buffer, value, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        view.setFloat32(offset, value, true);
        return offset + 4;
      }
      function writeInt32BE(buffer, value, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        view.setInt32(offset, value, false);
        return offset + 4;
      }
      function writeInt32LE(buffer, value, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        view.setInt32(offset, value, true);
        return offset + 4;
      }
      function writeUInt32BE(buffer, value, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        view.setUint32(offset, value, false);
        return offset + 4;
      }
      function writeUInt32LE(buffer, value, offset = 0) {
        const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
        view.setUint32(offset, value, true);
        return offset + 4;
      }
      module.exports = exports = {
        isBuffer,
        isEncoding,
        alloc,
        allocUnsafe,
        allocUnsafeSlow,
        byteLength,
        compare,
        concat,
        copy,
        equals,
        fill,
        from,
        includes,
        indexOf,
        lastIndexOf,
        swap16,
        swap32,
        swap64,
        toBuffer,
        toString,
        toHex,
        write,
        readDoubleBE,
        readDoubleLE,
        readFloatBE,
        readFloatLE,
        readInt32BE,
        readInt32LE,
        readUInt32BE,
        readUInt32LE,
        writeDoubleBE,
        writeDoubleLE,
        writeFloatBE,
        writeFloatLE,
        writeInt32BE,
        writeInt32LE,
        writeUInt32BE,
        writeUInt32LE
      };
    }
  });

  // node_modules/text-decoder/lib/pass-through-decoder.js
  var require_pass_through_decoder = __commonJS({
    "node_modules/text-decoder/lib/pass-through-decoder.js"(exports, module) {
      var b4a = require_browser2();
      module.exports = class PassThroughDecoder {
        constructor(encoding) {
          this.encoding = encoding;
        }
        get remaining() {
          return 0;
        }
        decode(data) {
          return b4a.toString(data, this.encoding);
        }
        flush() {
          return "";
        }
      };
    }
  });

  // node_modules/text-decoder/lib/utf8-decoder.js
  var require_utf8_decoder = __commonJS({
    "node_modules/text-decoder/lib/utf8-decoder.js"(exports, module) {
      var b4a = require_browser2();
      module.exports = class UTF8Decoder {
        constructor() {
          this._reset();
        }
        get remaining() {
          return this.bytesSeen;
        }
        decode(data) {
          if (data.byteLength === 0) return "";
          if (this.bytesNeeded === 0 && trailingIncomplete(data, 0) === 0) {
            this.bytesSeen = trailingBytesSeen(data);
            return b4a.toString(data, "utf8");
          }
          let result = "";
          let start = 0;
          if (this.bytesNeeded > 0) {
            while (start < data.byteLength) {
              const byte = data[start];
              if (byte < this.lowerBoundary || byte > this.upperBoundary) {
                result += "\uFFFD";
                this._reset();
                break;
              }
              this.lowerBoundary = 128;
              this.upperBoundary = 191;
              this.codePoint = this.codePoint << 6 | byte & 63;
              this.bytesSeen++;
              start++;
              if (this.bytesSeen === this.bytesNeeded) {
                result += String.fromCodePoint(this.codePoint);
                this._reset();
                break;
              }
            }
            if (this.bytesNeeded > 0) return result;
          }
          const trailing = trailingIncomplete(data, start);
          const end = data.byteLength - trailing;
          if (end > start) result += b4a.toString(data, "utf8", start, end);
          for (let i = end; i < data.byteLength; i++) {
            const byte = data[i];
            if (this.bytesNeeded === 0) {
              if (byte <= 127) {
                this.bytesSeen = 0;
                result += String.fromCharCode(byte);
              } else if (byte >= 194 && byte <= 223) {
                this.bytesNeeded = 2;
                this.bytesSeen = 1;
                this.codePoint = byte & 31;
              } else if (byte >= 224 && byte <= 239) {
                if (byte === 224) this.lowerBoundary = 160;
                else if (byte === 237) this.upperBoundary = 159;
                this.bytesNeeded = 3;
                this.bytesSeen = 1;
                this.codePoint = byte & 15;
              } else if (byte >= 240 && byte <= 244) {
                if (byte === 240) this.lowerBoundary = 144;
                else if (byte === 244) this.upperBoundary = 143;
                this.bytesNeeded = 4;
                this.bytesSeen = 1;
                this.codePoint = byte & 7;
              } else {
                this.bytesSeen = 1;
                result += "\uFFFD";
              }
              continue;
            }
            if (byte < this.lowerBoundary || byte > this.upperBoundary) {
              result += "\uFFFD";
              i--;
              this._reset();
              continue;
            }
            this.lowerBoundary = 128;
            this.upperBoundary = 191;
            this.codePoint = this.codePoint << 6 | byte & 63;
            this.bytesSeen++;
            if (this.bytesSeen === this.bytesNeeded) {
              result += String.fromCodePoint(this.codePoint);
              this._reset();
            }
          }
          return result;
        }
        flush() {
          const result = this.bytesNeeded > 0 ? "\uFFFD" : "";
          this._reset();
          return result;
        }
        _reset() {
          this.codePoint = 0;
          this.bytesNeeded = 0;
          this.bytesSeen = 0;
          this.lowerBoundary = 128;
          this.upperBoundary = 191;
        }
      };
      function trailingIncomplete(data, start) {
        const len = data.byteLength;
        if (len <= start) return 0;
        const limit = Math.max(start, len - 4);
        let i = len - 1;
        while (i > limit && (data[i] & 192) === 128) i--;
        if (i < start) return 0;
        const byte = data[i];
        let needed;
        if (byte <= 127) return 0;
        if (byte >= 194 && byte <= 223) needed = 2;
        else if (byte >= 224 && byte <= 239) needed = 3;
        else if (byte >= 240 && byte <= 244) needed = 4;
        else return 0;
        const available = len - i;
        return available < needed ? available : 0;
      }
      function trailingBytesSeen(data) {
        const len = data.byteLength;
        if (len === 0) return 0;
        const last = data[len - 1];
        if (last <= 127) return 0;
        if ((last & 192) !== 128) return 1;
        const limit = Math.max(0, len - 4);
        let i = len - 2;
        while (i >= limit && (data[i] & 192) === 128) i--;
        if (i < 0) return 1;
        const first = data[i];
        let needed;
        if (first >= 194 && first <= 223) needed = 2;
        else if (first >= 224 && first <= 239) needed = 3;
        else if (first >= 240 && first <= 244) needed = 4;
        else return 1;
        if (len - i !== needed) return 1;
        if (needed >= 3) {
          const second = data[i + 1];
          if (first === 224 && second < 160) return 1;
          if (first === 237 && second > 159) return 1;
          if (first === 240 && second < 144) return 1;
          if (first === 244 && second > 143) return 1;
        }
        return 0;
      }
    }
  });

  // node_modules/text-decoder/index.js
  var require_text_decoder = __commonJS({
    "node_modules/text-decoder/index.js"(exports, module) {
      var PassThroughDecoder = require_pass_through_decoder();
      var UTF8Decoder = require_utf8_decoder();
      module.exports = class TextDecoder {
        constructor(encoding = "utf8") {
          this.encoding = normalizeEncoding(encoding);
          switch (this.encoding) {
            case "utf8":
              this.decoder = new UTF8Decoder();
              break;
            case "utf16le":
            case "base64":
              throw new Error("Unsupported encoding: " + this.encoding);
            default:
              this.decoder = new PassThroughDecoder(this.encoding);
          }
        }
        get remaining() {
          return this.decoder.remaining;
        }
        push(data) {
          if (typeof data === "string") return data;
          return this.decoder.decode(data);
        }
        // For Node.js compatibility
        write(data) {
          return this.push(data);
        }
        end(data) {
          let result = "";
          if (data) result = this.push(data);
          result += this.decoder.flush();
          return result;
        }
      };
      function normalizeEncoding(encoding) {
        encoding = encoding.toLowerCase();
        switch (encoding) {
          case "utf8":
          case "utf-8":
            return "utf8";
          case "ucs2":
          case "ucs-2":
          case "utf16le":
          case "utf-16le":
            return "utf16le";
          case "latin1":
          case "binary":
            return "latin1";
          case "base64":
          case "ascii":
          case "hex":
            return encoding;
          default:
            throw new Error("Unknown encoding: " + encoding);
        }
      }
    }
  });

  // node_modules/streamx/lib/errors.js
  var require_errors = __commonJS({
    "node_modules/streamx/lib/errors.js"(exports, module) {
      module.exports = class StreamError extends Error {
        constructor(msg, code, fn = StreamError) {
          super(msg);
          this.code = code;
          if (Error.captureStackTrace) {
            Error.captureStackTrace(this, fn);
          }
        }
        static isStreamDestroyed(err) {
          return err && err.code === "STREAM_DESTROYED";
        }
        static isPrematureClose(err) {
          return err && err.code === "PREMATURE_CLOSE";
        }
        static isAborted(err) {
          return err && err.code === "ABORTED";
        }
        static isBadArgument(err) {
          return err && err.code === "BAD_ARGUMENT";
        }
        get name() {
          return "StreamError";
        }
        static STREAM_DESTROYED() {
          return new StreamError("Stream was destroyed", "STREAM_DESTROYED", StreamError.STREAM_DESTROYED);
        }
        static PREMATURE_CLOSE(msg = "Premature close") {
          return new StreamError(msg, "PREMATURE_CLOSE", StreamError.PREMATURE_CLOSE);
        }
        static ABORTED() {
          return new StreamError("Stream aborted", "ABORTED", StreamError.ABORTED);
        }
        static BAD_ARGUMENT(msg = "Bad argument") {
          return new StreamError(msg, "BAD_ARGUMENT", StreamError.BAD_ARGUMENT);
        }
      };
    }
  });

  // node_modules/streamx/index.js
  var require_streamx = __commonJS({
    "node_modules/streamx/index.js"(exports, module) {
      var { EventEmitter: EventEmitter3 } = require_default();
      var FIFO = require_fast_fifo();
      var TextDecoder2 = require_text_decoder();
      var StreamError = require_errors();
      var qmt = typeof queueMicrotask === "undefined" ? (fn) => globalThis.process.nextTick(fn) : queueMicrotask;
      var MAX = (1 << 29) - 1;
      var OPENING = 1;
      var PREDESTROYING = 2;
      var DESTROYING = 4;
      var DESTROYED = 8;
      var NOT_OPENING = MAX ^ OPENING;
      var NOT_PREDESTROYING = MAX ^ PREDESTROYING;
      var READ_ACTIVE = 1 << 4;
      var READ_UPDATING = 2 << 4;
      var READ_PRIMARY = 4 << 4;
      var READ_QUEUED = 8 << 4;
      var READ_RESUMED = 16 << 4;
      var READ_PIPE_DRAINED = 32 << 4;
      var READ_ENDING = 64 << 4;
      var READ_EMIT_DATA = 128 << 4;
      var READ_EMIT_READABLE = 256 << 4;
      var READ_EMITTED_READABLE = 512 << 4;
      var READ_DONE = 1024 << 4;
      var READ_NEXT_TICK = 2048 << 4;
      var READ_NEEDS_PUSH = 4096 << 4;
      var READ_READ_AHEAD = 8192 << 4;
      var READ_FLOWING = READ_RESUMED | READ_PIPE_DRAINED;
      var READ_ACTIVE_AND_NEEDS_PUSH = READ_ACTIVE | READ_NEEDS_PUSH;
      var READ_PRIMARY_AND_ACTIVE = READ_PRIMARY | READ_ACTIVE;
      var READ_EMIT_READABLE_AND_QUEUED = READ_EMIT_READABLE | READ_QUEUED;
      var READ_RESUMED_READ_AHEAD = READ_RESUMED | READ_READ_AHEAD;
      var READ_NOT_ACTIVE = MAX ^ READ_ACTIVE;
      var READ_NON_PRIMARY = MAX ^ READ_PRIMARY;
      var READ_NON_PRIMARY_AND_PUSHED = MAX ^ (READ_PRIMARY | READ_NEEDS_PUSH);
      var READ_PUSHED = MAX ^ READ_NEEDS_PUSH;
      var READ_PAUSED = MAX ^ READ_RESUMED;
      var READ_NOT_QUEUED = MAX ^ (READ_QUEUED | READ_EMITTED_READABLE);
      var READ_NOT_ENDING = MAX ^ READ_ENDING;
      var READ_PIPE_NOT_DRAINED = MAX ^ READ_FLOWING;
      var READ_NOT_NEXT_TICK = MAX ^ READ_NEXT_TICK;
      var READ_NOT_UPDATING = MAX ^ READ_UPDATING;
      var READ_NO_READ_AHEAD = MAX ^ READ_READ_AHEAD;
      var READ_PAUSED_NO_READ_AHEAD = MAX ^ READ_RESUMED_READ_AHEAD;
      var WRITE_ACTIVE = 1 << 18;
      var WRITE_UPDATING = 2 << 18;
      var WRITE_PRIMARY = 4 << 18;
      var WRITE_QUEUED = 8 << 18;
      var WRITE_UNDRAINED = 16 << 18;
      var WRITE_DONE = 32 << 18;
      var WRITE_EMIT_DRAIN = 64 << 18;
      var WRITE_NEXT_TICK = 128 << 18;
      var WRITE_WRITING = 256 << 18;
      var WRITE_FINISHING = 512 << 18;
      var WRITE_CORKED = 1024 << 18;
      var WRITE_NOT_ACTIVE = MAX ^ (WRITE_ACTIVE | WRITE_WRITING);
      var WRITE_NON_PRIMARY = MAX ^ WRITE_PRIMARY;
      var WRITE_NOT_FINISHING = MAX ^ (WRITE_ACTIVE | WRITE_FINISHING);
      var WRITE_DRAINED = MAX ^ WRITE_UNDRAINED;
      var WRITE_NOT_QUEUED = MAX ^ WRITE_QUEUED;
      var WRITE_NOT_NEXT_TICK = MAX ^ WRITE_NEXT_TICK;
      var WRITE_NOT_UPDATING = MAX ^ WRITE_UPDATING;
      var WRITE_NOT_CORKED = MAX ^ WRITE_CORKED;
      var ACTIVE = READ_ACTIVE | WRITE_ACTIVE;
      var NOT_ACTIVE = MAX ^ ACTIVE;
      var DONE = READ_DONE | WRITE_DONE;
      var DESTROY_STATUS = DESTROYING | DESTROYED | PREDESTROYING;
      var OPEN_STATUS = DESTROY_STATUS | OPENING;
      var AUTO_DESTROY = DESTROY_STATUS | DONE;
      var NON_PRIMARY = WRITE_NON_PRIMARY & READ_NON_PRIMARY;
      var ACTIVE_OR_TICKING = WRITE_NEXT_TICK | READ_NEXT_TICK;
      var TICKING = ACTIVE_OR_TICKING & NOT_ACTIVE;
      var IS_OPENING = OPEN_STATUS | TICKING;
      var READ_PRIMARY_STATUS = OPEN_STATUS | READ_ENDING | READ_DONE;
      var READ_STATUS = OPEN_STATUS | READ_DONE | READ_QUEUED;
      var READ_ENDING_STATUS = OPEN_STATUS | READ_ENDING | READ_QUEUED;
      var READ_READABLE_STATUS = OPEN_STATUS | READ_EMIT_READABLE | READ_QUEUED | READ_EMITTED_READABLE;
      var SHOULD_NOT_READ = OPEN_STATUS | READ_ACTIVE | READ_ENDING | READ_DONE | READ_NEEDS_PUSH | READ_READ_AHEAD;
      var READ_BACKPRESSURE_STATUS = DESTROY_STATUS | READ_ENDING | READ_DONE;
      var READ_UPDATE_SYNC_STATUS = READ_UPDATING | OPEN_STATUS | READ_NEXT_TICK | READ_PRIMARY;
      var READ_NEXT_TICK_OR_OPENING = READ_NEXT_TICK | OPENING;
      var WRITE_PRIMARY_STATUS = OPEN_STATUS | WRITE_FINISHING | WRITE_DONE;
      var WRITE_QUEUED_AND_UNDRAINED = WRITE_QUEUED | WRITE_UNDRAINED;
      var WRITE_QUEUED_AND_ACTIVE = WRITE_QUEUED | WRITE_ACTIVE;
      var WRITE_DRAIN_STATUS = WRITE_QUEUED | WRITE_UNDRAINED | OPEN_STATUS | WRITE_ACTIVE;
      var WRITE_STATUS = OPEN_STATUS | WRITE_ACTIVE | WRITE_QUEUED | WRITE_CORKED;
      var WRITE_PRIMARY_AND_ACTIVE = WRITE_PRIMARY | WRITE_ACTIVE;
      var WRITE_ACTIVE_AND_WRITING = WRITE_ACTIVE | WRITE_WRITING;
      var WRITE_FINISHING_STATUS = OPEN_STATUS | WRITE_FINISHING | WRITE_QUEUED_AND_ACTIVE | WRITE_DONE;
      var WRITE_BACKPRESSURE_STATUS = WRITE_UNDRAINED | DESTROY_STATUS | WRITE_FINISHING | WRITE_DONE;
      var WRITE_UPDATE_SYNC_STATUS = WRITE_UPDATING | OPEN_STATUS | WRITE_NEXT_TICK | WRITE_PRIMARY;
      var WRITE_DROP_DATA = WRITE_FINISHING | WRITE_DONE | DESTROY_STATUS;
      var asyncIterator = Symbol.asyncIterator || Symbol("asyncIterator");
      var WritableState = class {
        constructor(stream, { highWaterMark = 16384, map = null, mapWritable, byteLength, byteLengthWritable } = {}) {
          this.stream = stream;
          this.queue = new FIFO();
          this.highWaterMark = highWaterMark;
          this.buffered = 0;
          this.error = null;
          this.pipeline = null;
          this.drains = null;
          this.byteLength = byteLengthWritable || byteLength || defaultByteLength;
          this.map = mapWritable || map;
          this.afterWrite = afterWrite.bind(this);
          this.afterUpdateNextTick = updateWriteNT.bind(this);
        }
        get ending() {
          return (this.stream._duplexState & WRITE_FINISHING) !== 0;
        }
        get ended() {
          return (this.stream._duplexState & WRITE_DONE) !== 0;
        }
        push(data) {
          if ((this.stream._duplexState & WRITE_DROP_DATA) !== 0) return false;
          if (this.map !== null) data = this.map(data);
          this.buffered += this.byteLength(data);
          this.queue.push(data);
          if (this.buffered < this.highWaterMark) {
            this.stream._duplexState |= WRITE_QUEUED;
            return true;
          }
          this.stream._duplexState |= WRITE_QUEUED_AND_UNDRAINED;
          return false;
        }
        shift() {
          const data = this.queue.shift();
          this.buffered -= this.byteLength(data);
          if (this.buffered === 0) this.stream._duplexState &= WRITE_NOT_QUEUED;
          return data;
        }
        end(data) {
          if (typeof data === "function") {
            this.stream.once("finish", data);
          } else if (data !== void 0 && data !== null) {
            this.push(data);
          }
          this.stream._duplexState = (this.stream._duplexState | WRITE_FINISHING) & WRITE_NON_PRIMARY;
        }
        autoBatch(data, cb) {
          const buffer = [];
          const stream = this.stream;
          buffer.push(data);
          while ((stream._duplexState & WRITE_STATUS) === WRITE_QUEUED_AND_ACTIVE) {
            buffer.push(stream._writableState.shift());
          }
          if ((stream._duplexState & OPEN_STATUS) !== 0) return cb(null);
          stream._writev(buffer, cb);
        }
        update() {
          const stream = this.stream;
          stream._duplexState |= WRITE_UPDATING;
          do {
            while ((stream._duplexState & WRITE_STATUS) === WRITE_QUEUED) {
              const data = this.shift();
              stream._duplexState |= WRITE_ACTIVE_AND_WRITING;
              stream._write(data, this.afterWrite);
            }
            if ((stream._duplexState & WRITE_PRIMARY_AND_ACTIVE) === 0) this.updateNonPrimary();
          } while (this.continueUpdate() === true);
          stream._duplexState &= WRITE_NOT_UPDATING;
        }
        updateNonPrimary() {
          const stream = this.stream;
          if ((stream._duplexState & WRITE_FINISHING_STATUS) === WRITE_FINISHING) {
            stream._duplexState = stream._duplexState | WRITE_ACTIVE;
            stream._final(afterFinal.bind(this));
            return;
          }
          if ((stream._duplexState & DESTROY_STATUS) === DESTROYING) {
            if ((stream._duplexState & ACTIVE_OR_TICKING) === 0) {
              stream._duplexState |= ACTIVE;
              stream._destroy(afterDestroy.bind(this));
            }
            return;
          }
          if ((stream._duplexState & IS_OPENING) === OPENING) {
            stream._duplexState = (stream._duplexState | ACTIVE) & NOT_OPENING;
            stream._open(afterOpen.bind(this));
          }
        }
        continueUpdate() {
          if ((this.stream._duplexState & WRITE_NEXT_TICK) === 0) return false;
          this.stream._duplexState &= WRITE_NOT_NEXT_TICK;
          return true;
        }
        updateCallback() {
          if ((this.stream._duplexState & WRITE_UPDATE_SYNC_STATUS) === WRITE_PRIMARY) {
            this.update();
          } else {
            this.updateNextTick();
          }
        }
        updateNextTick() {
          if ((this.stream._duplexState & WRITE_NEXT_TICK) !== 0) return;
          this.stream._duplexState |= WRITE_NEXT_TICK;
          if ((this.stream._duplexState & WRITE_UPDATING) === 0) qmt(this.afterUpdateNextTick);
        }
      };
      var ReadableState = class {
        constructor(stream, { highWaterMark = 16384, map = null, mapReadable, byteLength, byteLengthReadable } = {}) {
          this.stream = stream;
          this.queue = new FIFO();
          this.highWaterMark = highWaterMark === 0 ? 1 : highWaterMark;
          this.buffered = 0;
          this.readAhead = highWaterMark > 0;
          this.error = null;
          this.pipeline = null;
          this.byteLength = byteLengthReadable || byteLength || defaultByteLength;
          this.map = mapReadable || map;
          this.pipeTo = null;
          this.afterRead = afterRead.bind(this);
          this.afterUpdateNextTick = updateReadNT.bind(this);
        }
        get ending() {
          return (this.stream._duplexState & READ_ENDING) !== 0;
        }
        get ended() {
          return (this.stream._duplexState & READ_DONE) !== 0;
        }
        pipe(pipeTo, cb) {
          if (this.pipeTo !== null) throw StreamError.BAD_ARGUMENT("Can only pipe to one destination");
          if (typeof cb !== "function") cb = null;
          this.stream._duplexState |= READ_PIPE_DRAINED;
          this.pipeTo = pipeTo;
          this.pipeline = new Pipeline(this.stream, pipeTo, cb);
          if (cb) this.stream.on("error", noop2);
          if (isStreamx(pipeTo)) {
            pipeTo._writableState.pipeline = this.pipeline;
            if (cb) pipeTo.on("error", noop2);
            pipeTo.on("finish", this.pipeline.finished.bind(this.pipeline));
          } else {
            const onerror = this.pipeline.done.bind(this.pipeline, pipeTo);
            const onclose = this.pipeline.done.bind(this.pipeline, pipeTo, null);
            pipeTo.on("error", onerror);
            pipeTo.on("close", onclose);
            pipeTo.on("finish", this.pipeline.finished.bind(this.pipeline));
          }
          pipeTo.on("drain", afterDrain.bind(this));
          this.stream.emit("piping", pipeTo);
          pipeTo.emit("pipe", this.stream);
        }
        push(data) {
          const stream = this.stream;
          if (data === null) {
            this.highWaterMark = 0;
            stream._duplexState = (stream._duplexState | READ_ENDING) & READ_NON_PRIMARY_AND_PUSHED;
            return false;
          }
          if (this.map !== null) {
            data = this.map(data);
            if (data === null) {
              stream._duplexState &= READ_PUSHED;
              return this.buffered < this.highWaterMark;
            }
          }
          this.buffered += this.byteLength(data);
          this.queue.push(data);
          stream._duplexState = (stream._duplexState | READ_QUEUED) & READ_PUSHED;
          return this.buffered < this.highWaterMark;
        }
        shift() {
          const data = this.queue.shift();
          this.buffered -= this.byteLength(data);
          if (this.buffered === 0) {
            this.stream._duplexState &= READ_NOT_QUEUED;
          }
          return data;
        }
        unshift(data) {
          const pending = [this.map !== null ? this.map(data) : data];
          while (this.buffered > 0) pending.push(this.shift());
          for (let i = 0; i < pending.length - 1; i++) {
            const data2 = pending[i];
            this.buffered += this.byteLength(data2);
            this.queue.push(data2);
          }
          this.push(pending[pending.length - 1]);
        }
        read() {
          const stream = this.stream;
          if ((stream._duplexState & READ_STATUS) === READ_QUEUED) {
            const data = this.shift();
            if (this.pipeTo !== null && this.pipeTo.write(data) === false) {
              stream._duplexState &= READ_PIPE_NOT_DRAINED;
            }
            if ((stream._duplexState & READ_EMIT_DATA) !== 0) {
              stream.emit("data", data);
            }
            return data;
          }
          if (this.readAhead === false) {
            stream._duplexState |= READ_READ_AHEAD;
            this.updateNextTick();
          }
          return null;
        }
        drain() {
          const stream = this.stream;
          while ((stream._duplexState & READ_STATUS) === READ_QUEUED && (stream._duplexState & READ_FLOWING) !== 0) {
            const data = this.shift();
            if (this.pipeTo !== null && this.pipeTo.write(data) === false) {
              stream._duplexState &= READ_PIPE_NOT_DRAINED;
            }
            if ((stream._duplexState & READ_EMIT_DATA) !== 0) {
              stream.emit("data", data);
            }
          }
        }
        update() {
          const stream = this.stream;
          stream._duplexState |= READ_UPDATING;
          do {
            this.drain();
            while (this.buffered < this.highWaterMark && (stream._duplexState & SHOULD_NOT_READ) === READ_READ_AHEAD) {
              stream._duplexState |= READ_ACTIVE_AND_NEEDS_PUSH;
              stream._read(this.afterRead);
              this.drain();
            }
            if ((stream._duplexState & READ_READABLE_STATUS) === READ_EMIT_READABLE_AND_QUEUED) {
              stream._duplexState |= READ_EMITTED_READABLE;
              stream.emit("readable");
            }
            if ((stream._duplexState & READ_PRIMARY_AND_ACTIVE) === 0) {
              this.updateNonPrimary();
            }
          } while (this.continueUpdate() === true);
          stream._duplexState &= READ_NOT_UPDATING;
        }
        updateNonPrimary() {
          const stream = this.stream;
          if ((stream._duplexState & READ_ENDING_STATUS) === READ_ENDING) {
            stream._duplexState = (stream._duplexState | READ_DONE) & READ_NOT_ENDING;
            stream.emit("end");
            if ((stream._duplexState & AUTO_DESTROY) === DONE) {
              stream._duplexState |= DESTROYING;
            }
            if (this.pipeTo !== null) {
              this.pipeTo.end();
            }
          }
          if ((stream._duplexState & DESTROY_STATUS) === DESTROYING) {
            if ((stream._duplexState & ACTIVE_OR_TICKING) === 0) {
              stream._duplexState |= ACTIVE;
              stream._destroy(afterDestroy.bind(this));
            }
            return;
          }
          if ((stream._duplexState & IS_OPENING) === OPENING) {
            stream._duplexState = (stream._duplexState | ACTIVE) & NOT_OPENING;
            stream._open(afterOpen.bind(this));
          }
        }
        continueUpdate() {
          if ((this.stream._duplexState & READ_NEXT_TICK) === 0) return false;
          this.stream._duplexState &= READ_NOT_NEXT_TICK;
          return true;
        }
        updateCallback() {
          if ((this.stream._duplexState & READ_UPDATE_SYNC_STATUS) === READ_PRIMARY) {
            this.update();
          } else {
            this.updateNextTick();
          }
        }
        updateNextTickIfOpen() {
          if ((this.stream._duplexState & READ_NEXT_TICK_OR_OPENING) !== 0) return;
          this.stream._duplexState |= READ_NEXT_TICK;
          if ((this.stream._duplexState & READ_UPDATING) === 0) qmt(this.afterUpdateNextTick);
        }
        updateNextTick() {
          if ((this.stream._duplexState & READ_NEXT_TICK) !== 0) return;
          this.stream._duplexState |= READ_NEXT_TICK;
          if ((this.stream._duplexState & READ_UPDATING) === 0) qmt(this.afterUpdateNextTick);
        }
      };
      var TransformState = class {
        constructor(stream) {
          this.data = null;
          this.afterTransform = afterTransform.bind(stream);
          this.afterFinal = null;
        }
      };
      var Pipeline = class {
        constructor(src, dst, cb) {
          this.from = src;
          this.to = dst;
          this.afterPipe = cb;
          this.error = null;
          this.pipeToFinished = false;
        }
        finished() {
          this.pipeToFinished = true;
        }
        done(stream, err) {
          if (err) this.error = err;
          if (stream === this.to) {
            this.to = null;
            if (this.from !== null) {
              if ((this.from._duplexState & READ_DONE) === 0 || !this.pipeToFinished) {
                this.from.destroy(this.error || StreamError.PREMATURE_CLOSE("Writable stream closed"));
              }
              return;
            }
          }
          if (stream === this.from) {
            this.from = null;
            if (this.to !== null) {
              if ((stream._duplexState & READ_DONE) === 0) {
                this.to.destroy(this.error || StreamError.PREMATURE_CLOSE("Readable stream closed"));
              }
              return;
            }
          }
          if (this.afterPipe !== null) this.afterPipe(this.error);
          this.to = this.from = this.afterPipe = null;
        }
      };
      function afterDrain() {
        this.stream._duplexState |= READ_PIPE_DRAINED;
        this.updateCallback();
      }
      function afterFinal(err) {
        const stream = this.stream;
        if (err) stream.destroy(err);
        if ((stream._duplexState & DESTROY_STATUS) === 0) {
          stream._duplexState |= WRITE_DONE;
          stream.emit("finish");
        }
        if ((stream._duplexState & AUTO_DESTROY) === DONE) {
          stream._duplexState |= DESTROYING;
        }
        stream._duplexState &= WRITE_NOT_FINISHING;
        if ((stream._duplexState & WRITE_UPDATING) === 0) {
          this.update();
        } else {
          this.updateNextTick();
        }
      }
      function afterDestroy(err) {
        const stream = this.stream;
        if (!err && !StreamError.isStreamDestroyed(this.error)) err = this.error;
        if (err) stream.emit("error", err);
        stream._duplexState |= DESTROYED;
        stream.emit("close");
        const rs = stream._readableState;
        const ws2 = stream._writableState;
        if (rs !== null && rs.pipeline !== null) {
          rs.pipeline.done(stream, err);
        }
        if (ws2 !== null) {
          while (ws2.drains !== null && ws2.drains.length > 0) {
            ws2.drains.shift().resolve(false);
          }
          if (ws2.pipeline !== null) {
            ws2.pipeline.done(stream, err);
          }
        }
      }
      function afterWrite(err) {
        const stream = this.stream;
        if (err) stream.destroy(err);
        stream._duplexState &= WRITE_NOT_ACTIVE;
        if (this.drains !== null) tickDrains(this.drains);
        if ((stream._duplexState & WRITE_DRAIN_STATUS) === WRITE_UNDRAINED) {
          stream._duplexState &= WRITE_DRAINED;
          if ((stream._duplexState & WRITE_EMIT_DRAIN) === WRITE_EMIT_DRAIN) {
            stream.emit("drain");
          }
        }
        this.updateCallback();
      }
      function afterRead(err) {
        if (err) this.stream.destroy(err);
        this.stream._duplexState &= READ_NOT_ACTIVE;
        if (this.readAhead === false && (this.stream._duplexState & READ_RESUMED) === 0) {
          this.stream._duplexState &= READ_NO_READ_AHEAD;
        }
        this.updateCallback();
      }
      function updateReadNT() {
        if ((this.stream._duplexState & READ_UPDATING) === 0) {
          this.stream._duplexState &= READ_NOT_NEXT_TICK;
          this.update();
        }
      }
      function updateWriteNT() {
        if ((this.stream._duplexState & WRITE_UPDATING) === 0) {
          this.stream._duplexState &= WRITE_NOT_NEXT_TICK;
          this.update();
        }
      }
      function tickDrains(drains) {
        for (let i = 0; i < drains.length; i++) {
          if (--drains[i].writes === 0) {
            drains.shift().resolve(true);
            i--;
          }
        }
      }
      function afterOpen(err) {
        const stream = this.stream;
        if (err) stream.destroy(err);
        if ((stream._duplexState & DESTROYING) === 0) {
          if ((stream._duplexState & READ_PRIMARY_STATUS) === 0) {
            stream._duplexState |= READ_PRIMARY;
          }
          if ((stream._duplexState & WRITE_PRIMARY_STATUS) === 0) {
            stream._duplexState |= WRITE_PRIMARY;
          }
          stream.emit("open");
        }
        stream._duplexState &= NOT_ACTIVE;
        if (stream._writableState !== null) {
          stream._writableState.updateCallback();
        }
        if (stream._readableState !== null) {
          stream._readableState.updateCallback();
        }
      }
      function afterTransform(err, data) {
        if (data !== void 0 && data !== null) this.push(data);
        this._writableState.afterWrite(err);
      }
      function newListener(name) {
        if (this._readableState !== null) {
          if (name === "data") {
            this._duplexState |= READ_EMIT_DATA | READ_RESUMED_READ_AHEAD;
            this._readableState.updateNextTick();
          }
          if (name === "readable") {
            this._duplexState |= READ_EMIT_READABLE;
            this._readableState.updateNextTick();
          }
        }
        if (this._writableState !== null) {
          if (name === "drain") {
            this._duplexState |= WRITE_EMIT_DRAIN;
            this._writableState.updateNextTick();
          }
        }
      }
      var Stream = class extends EventEmitter3 {
        constructor(opts) {
          super();
          this._duplexState = 0;
          this._readableState = null;
          this._writableState = null;
          if (opts) {
            if (opts.open) this._open = opts.open;
            if (opts.destroy) this._destroy = opts.destroy;
            if (opts.predestroy) this._predestroy = opts.predestroy;
            if (opts.signal) opts.signal.addEventListener("abort", abort.bind(this));
          }
          this.on("newListener", newListener);
        }
        _open(cb) {
          cb(null);
        }
        _destroy(cb) {
          cb(null);
        }
        _predestroy() {
        }
        get readable() {
          return this._readableState !== null ? true : void 0;
        }
        get writable() {
          return this._writableState !== null ? true : void 0;
        }
        get destroyed() {
          return (this._duplexState & DESTROYED) !== 0;
        }
        get destroying() {
          return (this._duplexState & DESTROY_STATUS) !== 0;
        }
        destroy(err) {
          if ((this._duplexState & DESTROY_STATUS) === 0) {
            if (!err) err = StreamError.STREAM_DESTROYED();
            this._duplexState = (this._duplexState | DESTROYING) & NON_PRIMARY;
            if (this._readableState !== null) {
              this._readableState.highWaterMark = 0;
              this._readableState.error = err;
            }
            if (this._writableState !== null) {
              this._writableState.highWaterMark = 0;
              this._writableState.error = err;
            }
            this._duplexState |= PREDESTROYING;
            this._predestroy();
            this._duplexState &= NOT_PREDESTROYING;
            if (this._readableState !== null) {
              this._readableState.updateNextTick();
            }
            if (this._writableState !== null) {
              this._writableState.updateNextTick();
            }
          }
        }
      };
      var Readable = class _Readable extends Stream {
        constructor(opts) {
          super(opts);
          this._duplexState |= OPENING | WRITE_DONE | READ_READ_AHEAD;
          this._readableState = new ReadableState(this, opts);
          if (opts) {
            if (this._readableState.readAhead === false) this._duplexState &= READ_NO_READ_AHEAD;
            if (opts.read) this._read = opts.read;
            if (opts.eagerOpen) this._readableState.updateNextTick();
            if (opts.encoding) this.setEncoding(opts.encoding);
          }
        }
        static deferred(fn, opts) {
          const out = new PassThrough(opts);
          fn().then((src) => {
            if (src === null) return out.end();
            if (out.destroying) return;
            pipeline(src, out, noop2);
          }).catch((err) => out.destroy(err));
          return out;
        }
        setEncoding(encoding) {
          const dec = new TextDecoder2(encoding);
          const map = this._readableState.map || echo;
          this._readableState.map = mapOrSkip;
          return this;
          function mapOrSkip(data) {
            const next = dec.push(data);
            return next === "" && (data.byteLength !== 0 || dec.remaining > 0) ? null : map(next);
          }
        }
        _read(cb) {
          cb(null);
        }
        pipe(dest, cb) {
          this._readableState.updateNextTick();
          this._readableState.pipe(dest, cb);
          return dest;
        }
        read() {
          this._readableState.updateNextTick();
          return this._readableState.read();
        }
        push(data) {
          this._readableState.updateNextTickIfOpen();
          return this._readableState.push(data);
        }
        unshift(data) {
          this._readableState.updateNextTickIfOpen();
          return this._readableState.unshift(data);
        }
        resume() {
          this._duplexState |= READ_RESUMED_READ_AHEAD;
          this._readableState.updateNextTick();
          return this;
        }
        pause() {
          this._duplexState &= this._readableState.readAhead === false ? READ_PAUSED_NO_READ_AHEAD : READ_PAUSED;
          return this;
        }
        static _fromAsyncIterator(ite, opts) {
          let destroy;
          const rs = new _Readable({
            ...opts,
            read(cb) {
              ite.next().then(push).then(cb.bind(null, null)).catch(cb);
            },
            predestroy() {
              destroy = ite.return();
            },
            destroy(cb) {
              if (!destroy) return cb(null);
              destroy.then(cb.bind(null, null)).catch(cb);
            }
          });
          return rs;
          function push(data) {
            if (data.done) rs.push(null);
            else rs.push(data.value);
          }
        }
        static from(data, opts) {
          if (isReadStreamx(data)) return data;
          if (data[asyncIterator]) return this._fromAsyncIterator(data[asyncIterator](), opts);
          if (!Array.isArray(data)) data = data === void 0 ? [] : [data];
          let i = 0;
          return new _Readable({
            ...opts,
            read(cb) {
              this.push(i === data.length ? null : data[i++]);
              cb(null);
            }
          });
        }
        static isBackpressured(rs) {
          return (rs._duplexState & READ_BACKPRESSURE_STATUS) !== 0 || rs._readableState.buffered >= rs._readableState.highWaterMark;
        }
        static isPaused(rs) {
          return (rs._duplexState & READ_RESUMED) === 0;
        }
        [asyncIterator]() {
          const stream = this;
          let error = null;
          let promiseResolve = null;
          let promiseReject = null;
          this.on("error", (err) => {
            error = err;
          });
          this.on("readable", onreadable);
          this.on("close", onclose);
          return {
            [asyncIterator]() {
              return this;
            },
            next() {
              return new Promise(function(resolve, reject) {
                promiseResolve = resolve;
                promiseReject = reject;
                const data = stream.read();
                if (data !== null) ondata(data);
                else if ((stream._duplexState & DESTROYED) !== 0) ondata(null);
              });
            },
            return() {
              return destroy(null);
            },
            throw(err) {
              return destroy(err);
            }
          };
          function onreadable() {
            if (promiseResolve !== null) ondata(stream.read());
          }
          function onclose() {
            if (promiseResolve !== null) ondata(null);
          }
          function ondata(data) {
            if (promiseReject === null) return;
            if (error) {
              promiseReject(error);
            } else if (data === null && (stream._duplexState & READ_DONE) === 0) {
              promiseReject(StreamError.STREAM_DESTROYED());
            } else {
              promiseResolve({ value: data, done: data === null });
            }
            promiseReject = promiseResolve = null;
          }
          function destroy(err) {
            stream.destroy(err);
            return new Promise((resolve, reject) => {
              if (stream._duplexState & DESTROYED) return resolve({ value: void 0, done: true });
              stream.once("close", function() {
                if (err) reject(err);
                else resolve({ value: void 0, done: true });
              });
            });
          }
        }
      };
      var Writable = class extends Stream {
        constructor(opts) {
          super(opts);
          this._duplexState |= OPENING | READ_DONE;
          this._writableState = new WritableState(this, opts);
          if (opts) {
            if (opts.writev) this._writev = opts.writev;
            if (opts.write) this._write = opts.write;
            if (opts.final) this._final = opts.final;
            if (opts.eagerOpen) this._writableState.updateNextTick();
          }
        }
        cork() {
          this._duplexState |= WRITE_CORKED;
        }
        uncork() {
          this._duplexState &= WRITE_NOT_CORKED;
          this._writableState.updateNextTick();
        }
        _writev(batch, cb) {
          cb(null);
        }
        _write(data, cb) {
          this._writableState.autoBatch(data, cb);
        }
        _final(cb) {
          cb(null);
        }
        static isBackpressured(ws2) {
          return (ws2._duplexState & WRITE_BACKPRESSURE_STATUS) !== 0;
        }
        static drained(ws2) {
          if (ws2.destroyed) return Promise.resolve(false);
          const state = ws2._writableState;
          const pending = isWritev(ws2) ? Math.min(1, state.queue.length) : state.queue.length;
          const writes = pending + (ws2._duplexState & WRITE_WRITING ? 1 : 0);
          if (writes === 0) return Promise.resolve(true);
          if (state.drains === null) state.drains = [];
          return new Promise((resolve) => {
            state.drains.push({ writes, resolve });
          });
        }
        write(data) {
          this._writableState.updateNextTick();
          return this._writableState.push(data);
        }
        end(data) {
          this._writableState.updateNextTick();
          this._writableState.end(data);
          return this;
        }
      };
      var Duplex3 = class extends Readable {
        // and Writable
        constructor(opts) {
          super(opts);
          this._duplexState = OPENING | this._duplexState & READ_READ_AHEAD;
          this._writableState = new WritableState(this, opts);
          if (opts) {
            if (opts.writev) this._writev = opts.writev;
            if (opts.write) this._write = opts.write;
            if (opts.final) this._final = opts.final;
          }
        }
        cork() {
          this._duplexState |= WRITE_CORKED;
        }
        uncork() {
          this._duplexState &= WRITE_NOT_CORKED;
          this._writableState.updateNextTick();
        }
        _writev(batch, cb) {
          cb(null);
        }
        _write(data, cb) {
          this._writableState.autoBatch(data, cb);
        }
        _final(cb) {
          cb(null);
        }
        write(data) {
          this._writableState.updateNextTick();
          return this._writableState.push(data);
        }
        end(data) {
          this._writableState.updateNextTick();
          this._writableState.end(data);
          return this;
        }
      };
      var Transform = class extends Duplex3 {
        constructor(opts) {
          super(opts);
          this._transformState = new TransformState(this);
          if (opts) {
            if (opts.transform) this._transform = opts.transform;
            if (opts.flush) this._flush = opts.flush;
          }
        }
        _write(data, cb) {
          if (this._readableState.buffered >= this._readableState.highWaterMark) {
            this._transformState.data = data;
          } else {
            this._transform(data, this._transformState.afterTransform);
          }
        }
        _read(cb) {
          if (this._transformState.data !== null) {
            const data = this._transformState.data;
            this._transformState.data = null;
            cb(null);
            this._transform(data, this._transformState.afterTransform);
          } else {
            cb(null);
          }
        }
        destroy(err) {
          super.destroy(err);
          if (this._transformState.data !== null) {
            this._transformState.data = null;
            this._transformState.afterTransform();
          }
        }
        _transform(data, cb) {
          cb(null, data);
        }
        _flush(cb) {
          cb(null);
        }
        _final(cb) {
          this._transformState.afterFinal = cb;
          this._flush(transformAfterFlush.bind(this));
        }
      };
      var PassThrough = class extends Transform {
      };
      function transformAfterFlush(err, data) {
        const cb = this._transformState.afterFinal;
        if (err) return cb(err);
        if (data !== null && data !== void 0) this.push(data);
        this.push(null);
        cb(null);
      }
      function pipelinePromise(...streams) {
        return new Promise((resolve, reject) => {
          return pipeline(...streams, (err) => {
            if (err) return reject(err);
            resolve();
          });
        });
      }
      function pipeline(stream, ...streams) {
        const all = Array.isArray(stream) ? [...stream, ...streams] : [stream, ...streams];
        const done = all.length && typeof all[all.length - 1] === "function" ? all.pop() : null;
        if (all.length < 2) throw StreamError.BAD_ARGUMENT("Pipeline requires at least 2 streams");
        let src = all[0];
        let dest = null;
        let error = null;
        for (let i = 1; i < all.length; i++) {
          dest = all[i];
          if (isStreamx(src)) {
            src.pipe(dest, onerror);
          } else {
            errorHandle(src, true, i > 1, onerror);
            src.pipe(dest);
          }
          src = dest;
        }
        if (done) {
          let fin = false;
          const autoDestroy = isStreamx(dest) || !!(dest._writableState && dest._writableState.autoDestroy);
          dest.on("error", (err) => {
            if (error === null) error = err;
          });
          dest.on("finish", () => {
            fin = true;
            if (!autoDestroy) done(error);
          });
          if (autoDestroy) {
            dest.on("close", () => done(error || (fin ? null : StreamError.PREMATURE_CLOSE())));
          }
        }
        return dest;
        function errorHandle(s, rd, wr, onerror2) {
          s.on("error", onerror2);
          s.on("close", onclose);
          function onclose() {
            if (rd && s._readableState && !s._readableState.ended) {
              return onerror2(StreamError.PREMATURE_CLOSE());
            }
            if (wr && s._writableState && !s._writableState.ended) {
              return onerror2(StreamError.PREMATURE_CLOSE());
            }
          }
        }
        function onerror(err) {
          if (!err || error) return;
          error = err;
          for (const s of all) {
            s.destroy(err);
          }
        }
      }
      function echo(s) {
        return s;
      }
      function isStream(stream) {
        return !!stream._readableState || !!stream._writableState;
      }
      function isStreamx(stream) {
        return typeof stream._duplexState === "number" && isStream(stream);
      }
      function isEnding(stream) {
        return !!stream._readableState && stream._readableState.ending;
      }
      function isEnded(stream) {
        return !!stream._readableState && stream._readableState.ended;
      }
      function isFinishing(stream) {
        return !!stream._writableState && stream._writableState.ending;
      }
      function isFinished(stream) {
        return !!stream._writableState && stream._writableState.ended;
      }
      function getStreamError(stream, opts = {}) {
        const err = stream._readableState && stream._readableState.error || stream._writableState && stream._writableState.error;
        return !opts.all && StreamError.isStreamDestroyed(err) ? null : err;
      }
      function isReadStreamx(stream) {
        return isStreamx(stream) && stream.readable;
      }
      function isDisturbed(stream) {
        return (stream._duplexState & OPENING) !== OPENING || (stream._duplexState & DESTROYING) === DESTROYING || (stream._duplexState & ACTIVE_OR_TICKING) !== 0;
      }
      function isTypedArray(data) {
        return typeof data === "object" && data !== null && typeof data.byteLength === "number";
      }
      function defaultByteLength(data) {
        return isTypedArray(data) ? data.byteLength : 1024;
      }
      function noop2() {
      }
      function abort() {
        this.destroy(StreamError.ABORTED());
      }
      function isWritev(s) {
        return s._writev !== Writable.prototype._writev && s._writev !== Duplex3.prototype._writev;
      }
      module.exports = {
        pipeline,
        pipelinePromise,
        isStream,
        isStreamx,
        isEnding,
        isEnded,
        isFinishing,
        isFinished,
        isDisturbed,
        getStreamError,
        Stream,
        Writable,
        Readable,
        Duplex: Duplex3,
        Transform,
        // Export PassThrough for compatibility with Node.js core's stream module
        PassThrough
      };
    }
  });

  // node_modules/err-code/index.js
  var require_err_code = __commonJS({
    "node_modules/err-code/index.js"(exports, module) {
      "use strict";
      function assign(obj, props) {
        for (const key in props) {
          Object.defineProperty(obj, key, {
            value: props[key],
            enumerable: true,
            configurable: true
          });
        }
        return obj;
      }
      function createError(err, code, props) {
        if (!err || typeof err === "string") {
          throw new TypeError("Please pass an Error to err-code");
        }
        if (!props) {
          props = {};
        }
        if (typeof code === "object") {
          props = code;
          code = "";
        }
        if (code) {
          props.code = code;
        }
        try {
          return assign(err, props);
        } catch (_) {
          props.message = err.message;
          props.stack = err.stack;
          const ErrClass = function() {
          };
          ErrClass.prototype = Object.create(Object.getPrototypeOf(err));
          const output = assign(new ErrClass(), props);
          return output;
        }
      }
      module.exports = createError;
    }
  });

  // (disabled):node_modules/bittorrent-tracker/lib/common-node.js
  var require_common_node = __commonJS({
    "(disabled):node_modules/bittorrent-tracker/lib/common-node.js"() {
    }
  });

  // (disabled):node_modules/bittorrent-tracker/lib/client/http-tracker.js
  var require_http_tracker = __commonJS({
    "(disabled):node_modules/bittorrent-tracker/lib/client/http-tracker.js"() {
    }
  });

  // (disabled):node_modules/bittorrent-tracker/lib/client/udp-tracker.js
  var require_udp_tracker = __commonJS({
    "(disabled):node_modules/bittorrent-tracker/lib/client/udp-tracker.js"() {
    }
  });

  // (disabled):node_modules/ws/browser.js
  var require_browser3 = __commonJS({
    "(disabled):node_modules/ws/browser.js"() {
    }
  });

  // node_modules/bittorrent-tracker/client.js
  var import_debug4 = __toESM(require_browser(), 1);
  var import_events2 = __toESM(require_events(), 1);
  var import_once = __toESM(require_once(), 1);
  var import_run_parallel = __toESM(require_run_parallel(), 1);

  // node_modules/@thaunknown/simple-peer/lite.js
  var import_debug = __toESM(require_browser(), 1);

  // node_modules/webrtc-polyfill/browser.js
  var scope = typeof window !== "undefined" ? window : self;
  var RTCPeerConnection = scope.RTCPeerConnection || scope.mozRTCPeerConnection || scope.webkitRTCPeerConnection;
  var RTCSessionDescription = scope.RTCSessionDescription || scope.mozRTCSessionDescription || scope.webkitRTCSessionDescription;
  var RTCIceCandidate = scope.RTCIceCandidate || scope.mozRTCIceCandidate || scope.webkitRTCIceCandidate;
  var RTCIceTransport = scope.RTCIceTransport;
  var RTCDataChannel = scope.RTCDataChannel;
  var RTCSctpTransport = scope.RTCSctpTransport;
  var RTCDtlsTransport = scope.RTCDtlsTransport;
  var RTCCertificate = scope.RTCCertificate;
  var MediaStream = scope.MediaStream;
  var MediaStreamTrack = scope.MediaStreamTrack;
  var MediaStreamTrackEvent = scope.MediaStreamTrackEvent;
  var RTCPeerConnectionIceEvent = scope.RTCPeerConnectionIceEvent;
  var RTCDataChannelEvent = scope.RTCDataChannelEvent;
  var RTCTrackEvent = scope.RTCTrackEvent;
  var RTCError = scope.RTCError;
  var RTCErrorEvent = scope.RTCErrorEvent;
  var RTCRtpTransceiver = scope.RTCRtpTransceiver;
  var RTCRtpReceiver = scope.RTCRtpReceiver;
  var RTCRtpSender = scope.RTCRtpSender;

  // node_modules/@thaunknown/simple-peer/lite.js
  var import_streamx = __toESM(require_streamx(), 1);
  var import_err_code = __toESM(require_err_code(), 1);

  // node_modules/uint8-util/dist/src/util.js
  var decoder = new TextDecoder();
  var arr2text = (data, enc) => {
    if (!enc)
      return decoder.decode(data);
    const dec = new TextDecoder(enc);
    return dec.decode(data);
  };

  // node_modules/uint8-util/dist/src/browser.js
  var alphabet = "0123456789abcdef";
  var encodeLookup = [];
  var decodeLookup = new Uint8Array(128);
  for (let i = 0; i < 16; ++i) {
    const i16 = i * 16;
    for (let j = 0; j < 16; ++j) {
      encodeLookup[i16 + j] = alphabet[i] + alphabet[j];
    }
    if (i < 10) {
      decodeLookup[48 + i] = i;
    } else {
      decodeLookup[97 - 10 + i] = i;
      decodeLookup[65 - 10 + i] = i;
    }
  }
  var arr2hex = (data) => data.toHex();
  var hex2arr = (str) => {
    const len = str.length;
    if (len > 64)
      return Uint8Array.fromHex(str);
    const out = new Uint8Array(len >> 1);
    let j = 0;
    let i = 0;
    while (i < len) {
      out[j++] = decodeLookup[str.charCodeAt(i++)] << 4 | decodeLookup[str.charCodeAt(i++)];
    }
    return out;
  };
  var encoder = new TextEncoder();
  var text2arr = (str) => encoder.encode(str);
  var bin2hex = (str) => {
    let res = "";
    let i = 0;
    const len = str.length;
    while (i < len) {
      res += encodeLookup[str.charCodeAt(i++)];
    }
    return res;
  };
  var MAX_ARGUMENTS_LENGTH = 65536;
  var hex2bin = (hex) => {
    const points = hex2arr(hex);
    if (points.length <= MAX_ARGUMENTS_LENGTH)
      return String.fromCharCode.apply(null, points);
    let res = "";
    let i = 0;
    while (i < points.length) {
      res += String.fromCharCode.apply(null, points.subarray(i, i += MAX_ARGUMENTS_LENGTH));
    }
    return res;
  };
  var randomBytes = (size) => crypto.getRandomValues(new Uint8Array(size));

  // node_modules/@thaunknown/simple-peer/lite.js
  var Debug = (0, import_debug.default)("simple-peer");
  var MAX_BUFFERED_AMOUNT = 64 * 1024;
  var ICECOMPLETE_TIMEOUT = 5 * 1e3;
  var CHANNEL_CLOSING_TIMEOUT = 5 * 1e3;
  function filterTrickle(sdp) {
    return sdp.replace(/a=ice-options:trickle\s\n/g, "");
  }
  function warn(message) {
    console.warn(message);
  }
  function unrefTimeout(cb, timeout, ...args) {
    const timer = setTimeout(cb, timeout, ...args);
    timer.unref?.();
    return timer;
  }
  function unrefInterval(cb, interval, ...args) {
    const timer = setInterval(cb, interval, ...args);
    timer.unref?.();
    return timer;
  }
  var Peer = class _Peer extends import_streamx.Duplex {
    /** @type {RTCPeerConnection} */
    _pc;
    constructor(opts) {
      opts = Object.assign({
        allowHalfOpen: false
      }, opts);
      super(opts);
      this.__objectMode = !!opts.objectMode;
      this._id = arr2hex(randomBytes(4)).slice(0, 7);
      this._debug("new peer %o", opts);
      this.channelName = opts.initiator ? opts.channelName || arr2hex(randomBytes(20)) : null;
      this.initiator = opts.initiator || false;
      this.channelConfig = opts.channelConfig || _Peer.channelConfig;
      this.channelNegotiated = this.channelConfig.negotiated;
      this.config = Object.assign({}, _Peer.config, opts.config);
      this.offerOptions = opts.offerOptions || {};
      this.answerOptions = opts.answerOptions || {};
      this.sdpTransform = opts.sdpTransform || ((sdp) => sdp);
      this.trickle = opts.trickle !== void 0 ? opts.trickle : true;
      this.allowHalfTrickle = opts.allowHalfTrickle !== void 0 ? opts.allowHalfTrickle : false;
      this.iceCompleteTimeout = opts.iceCompleteTimeout || ICECOMPLETE_TIMEOUT;
      this._destroying = false;
      this._connected = false;
      this.remoteAddress = void 0;
      this.remoteFamily = void 0;
      this.remotePort = void 0;
      this.localAddress = void 0;
      this.localFamily = void 0;
      this.localPort = void 0;
      if (!RTCPeerConnection) {
        if (typeof window === "undefined") {
          throw (0, import_err_code.default)(new Error("No WebRTC support: Specify `opts.wrtc` option in this environment"), "ERR_WEBRTC_SUPPORT");
        } else {
          throw (0, import_err_code.default)(new Error("No WebRTC support: Not a supported browser"), "ERR_WEBRTC_SUPPORT");
        }
      }
      this._pcReady = false;
      this._channelReady = false;
      this._iceComplete = false;
      this._iceCompleteTimer = null;
      this._channel = null;
      this._pendingCandidates = [];
      this._isNegotiating = false;
      this._firstNegotiation = true;
      this._batchedNegotiation = false;
      this._queuedNegotiation = false;
      this._sendersAwaitingStable = [];
      this._closingInterval = null;
      this._remoteTracks = [];
      this._remoteStreams = [];
      this._chunk = null;
      this._cb = null;
      this._interval = null;
      try {
        this._pc = new RTCPeerConnection(this.config);
      } catch (err) {
        this.__destroy((0, import_err_code.default)(err, "ERR_PC_CONSTRUCTOR"));
        return;
      }
      this._isReactNativeWebrtc = typeof this._pc._peerConnectionId === "number";
      this._pc.oniceconnectionstatechange = () => {
        this._onIceStateChange();
      };
      this._pc.onicegatheringstatechange = () => {
        this._onIceStateChange();
      };
      this._pc.onconnectionstatechange = () => {
        this._onConnectionStateChange();
      };
      this._pc.onsignalingstatechange = () => {
        this._onSignalingStateChange();
      };
      this._pc.onicecandidate = (event) => {
        this._onIceCandidate(event);
      };
      if (typeof this._pc.peerIdentity === "object") {
        this._pc.peerIdentity.catch((err) => {
          this.__destroy((0, import_err_code.default)(err, "ERR_PC_PEER_IDENTITY"));
        });
      }
      if (this.initiator || this.channelNegotiated) {
        this._setupData({
          channel: this._pc.createDataChannel(this.channelName, this.channelConfig)
        });
      } else {
        this._pc.ondatachannel = (event) => {
          this._setupData(event);
        };
      }
      this._debug("initial negotiation");
      this._needsNegotiation();
      this._onFinishBound = () => {
        this._onFinish();
      };
      this.once("finish", this._onFinishBound);
    }
    get bufferSize() {
      return this._channel && this._channel.bufferedAmount || 0;
    }
    // HACK: it's possible channel.readyState is "closing" before peer.destroy() fires
    // https://bugs.chromium.org/p/chromium/issues/detail?id=882743
    get connected() {
      return this._connected && this._channel.readyState === "open";
    }
    address() {
      return { port: this.localPort, family: this.localFamily, address: this.localAddress };
    }
    signal(data) {
      if (this._destroying) return;
      if (this.destroyed) throw (0, import_err_code.default)(new Error("cannot signal after peer is destroyed"), "ERR_DESTROYED");
      if (typeof data === "string") {
        try {
          data = JSON.parse(data);
        } catch (err) {
          data = {};
        }
      }
      this._debug("signal()");
      if (data.renegotiate && this.initiator) {
        this._debug("got request to renegotiate");
        this._needsNegotiation();
      }
      if (data.transceiverRequest && this.initiator) {
        this._debug("got request for transceiver");
        this.addTransceiver(data.transceiverRequest.kind, data.transceiverRequest.init);
      }
      if (data.candidate) {
        if (this._pc.remoteDescription && this._pc.remoteDescription.type) {
          this._addIceCandidate(data.candidate);
        } else {
          this._pendingCandidates.push(data.candidate);
        }
      }
      if (data.sdp) {
        this._pc.setRemoteDescription(new RTCSessionDescription(data)).then(() => {
          if (this.destroyed) return;
          this._pendingCandidates.forEach((candidate) => {
            this._addIceCandidate(candidate);
          });
          this._pendingCandidates = [];
          if (this._pc.remoteDescription.type === "offer") this._createAnswer();
        }).catch((err) => {
          this.__destroy((0, import_err_code.default)(err, "ERR_SET_REMOTE_DESCRIPTION"));
        });
      }
      if (!data.sdp && !data.candidate && !data.renegotiate && !data.transceiverRequest) {
        this.__destroy((0, import_err_code.default)(new Error("signal() called with invalid signal data"), "ERR_SIGNALING"));
      }
    }
    _addIceCandidate(candidate) {
      const iceCandidateObj = new RTCIceCandidate(candidate);
      this._pc.addIceCandidate(iceCandidateObj).catch((err) => {
        if (!iceCandidateObj.address || iceCandidateObj.address.endsWith(".local")) {
          warn("Ignoring unsupported ICE candidate.");
        } else {
          this.__destroy((0, import_err_code.default)(err, "ERR_ADD_ICE_CANDIDATE"));
        }
      });
    }
    /**
     * Send text/binary data to the remote peer.
     * @param {ArrayBufferView|ArrayBuffer|Uint8Array|string|Blob} chunk
     */
    send(chunk) {
      if (this._destroying) return;
      if (this.destroyed) throw (0, import_err_code.default)(new Error("cannot send after peer is destroyed"), "ERR_DESTROYED");
      this._channel.send(chunk);
    }
    _needsNegotiation() {
      this._debug("_needsNegotiation");
      if (this._batchedNegotiation) return;
      this._batchedNegotiation = true;
      queueMicrotask(() => {
        this._batchedNegotiation = false;
        if (this.initiator || !this._firstNegotiation) {
          this._debug("starting batched negotiation");
          this.negotiate();
        } else {
          this._debug("non-initiator initial negotiation request discarded");
        }
        this._firstNegotiation = false;
      });
    }
    negotiate() {
      if (this._destroying) return;
      if (this.destroyed) throw (0, import_err_code.default)(new Error("cannot negotiate after peer is destroyed"), "ERR_DESTROYED");
      if (this.initiator) {
        if (this._isNegotiating) {
          this._queuedNegotiation = true;
          this._debug("already negotiating, queueing");
        } else {
          this._debug("start negotiation");
          unrefTimeout(() => {
            this._createOffer();
          }, 0);
        }
      } else {
        if (this._isNegotiating) {
          this._queuedNegotiation = true;
          this._debug("already negotiating, queueing");
        } else {
          this._debug("requesting negotiation from initiator");
          this.emit("signal", {
            // request initiator to renegotiate
            type: "renegotiate",
            renegotiate: true
          });
        }
      }
      this._isNegotiating = true;
    }
    _final(cb) {
      if (!this._readableState.ended) this.push(null);
      cb(null);
    }
    __destroy(err) {
      this.end();
      this._destroy(() => {
      }, err);
    }
    _destroy(cb, err) {
      if (this.destroyed || this._destroying) return;
      this._destroying = true;
      this._debug("destroying (error: %s)", err && (err.message || err));
      unrefTimeout(() => {
        if (this._connected) this.emit("disconnect");
        this._connected = false;
        this._pcReady = false;
        this._channelReady = false;
        this._remoteTracks = null;
        this._remoteStreams = null;
        this._senderMap = null;
        clearInterval(this._closingInterval);
        this._closingInterval = null;
        clearInterval(this._interval);
        this._interval = null;
        this._chunk = null;
        this._cb = null;
        if (this._onFinishBound) this.removeListener("finish", this._onFinishBound);
        this._onFinishBound = null;
        if (this._channel) {
          try {
            this._channel.close();
          } catch (err2) {
          }
          this._channel.onmessage = null;
          this._channel.onopen = null;
          this._channel.onclose = null;
          this._channel.onerror = null;
        }
        if (this._pc) {
          try {
            this._pc.close();
          } catch (err2) {
          }
          this._pc.oniceconnectionstatechange = null;
          this._pc.onicegatheringstatechange = null;
          this._pc.onsignalingstatechange = null;
          this._pc.onicecandidate = null;
          this._pc.ontrack = null;
          this._pc.ondatachannel = null;
        }
        this._pc = null;
        this._channel = null;
        if (err) this.emit("error", err);
        cb();
      }, 0);
    }
    _setupData(event) {
      if (!event.channel) {
        return this.__destroy((0, import_err_code.default)(new Error("Data channel event is missing `channel` property"), "ERR_DATA_CHANNEL"));
      }
      this._channel = event.channel;
      this._channel.binaryType = "arraybuffer";
      if (typeof this._channel.bufferedAmountLowThreshold === "number") {
        this._channel.bufferedAmountLowThreshold = MAX_BUFFERED_AMOUNT;
      }
      this.channelName = this._channel.label;
      this._channel.onmessage = (event2) => {
        this._onChannelMessage(event2);
      };
      this._channel.onbufferedamountlow = () => {
        this._onChannelBufferedAmountLow();
      };
      this._channel.onopen = () => {
        this._onChannelOpen();
      };
      this._channel.onclose = () => {
        this._onChannelClose();
      };
      this._channel.onerror = (event2) => {
        const err = event2.error instanceof Error ? event2.error : new Error(`Datachannel error: ${event2.message} ${event2.filename}:${event2.lineno}:${event2.colno}`);
        this.__destroy((0, import_err_code.default)(err, "ERR_DATA_CHANNEL"));
      };
      let isClosing = false;
      this._closingInterval = unrefInterval(() => {
        if (this._channel && this._channel.readyState === "closing") {
          if (isClosing) this._onChannelClose();
          isClosing = true;
        } else {
          isClosing = false;
        }
      }, CHANNEL_CLOSING_TIMEOUT);
    }
    _write(chunk, cb) {
      if (this.destroyed) return cb((0, import_err_code.default)(new Error("cannot write after peer is destroyed"), "ERR_DATA_CHANNEL"));
      if (this._connected) {
        try {
          this.send(chunk);
        } catch (err) {
          return this.__destroy((0, import_err_code.default)(err, "ERR_DATA_CHANNEL"));
        }
        if (this._channel.bufferedAmount > MAX_BUFFERED_AMOUNT) {
          this._debug("start backpressure: bufferedAmount %d", this._channel.bufferedAmount);
          this._cb = cb;
        } else {
          cb(null);
        }
      } else {
        this._debug("write before connect");
        this._chunk = chunk;
        this._cb = cb;
      }
    }
    // When stream finishes writing, close socket. Half open connections are not
    // supported.
    _onFinish() {
      if (this.destroyed) return;
      const destroySoon = () => {
        unrefTimeout(() => this.__destroy(), 1e3).unref?.();
      };
      if (this._connected) {
        destroySoon();
      } else {
        this.once("connect", destroySoon);
      }
    }
    _startIceCompleteTimeout() {
      if (this.destroyed) return;
      if (this._iceCompleteTimer) return;
      this._debug("started iceComplete timeout");
      this._iceCompleteTimer = unrefTimeout(() => {
        if (!this._iceComplete) {
          this._iceComplete = true;
          this._debug("iceComplete timeout completed");
          this.emit("iceTimeout");
          this.emit("_iceComplete");
        }
      }, this.iceCompleteTimeout);
    }
    _createOffer() {
      if (this.destroyed) return;
      this._pc.createOffer(this.offerOptions).then((offer) => {
        if (this.destroyed) return;
        if (!this.trickle && !this.allowHalfTrickle) offer.sdp = filterTrickle(offer.sdp);
        offer.sdp = this.sdpTransform(offer.sdp);
        const sendOffer = () => {
          if (this.destroyed) return;
          const signal = this._pc.localDescription || offer;
          this._debug("signal");
          this.emit("signal", {
            type: signal.type,
            sdp: signal.sdp
          });
        };
        const onSuccess = () => {
          this._debug("createOffer success");
          if (this.destroyed) return;
          if (this.trickle || this._iceComplete) sendOffer();
          else this.once("_iceComplete", sendOffer);
        };
        const onError = (err) => {
          this.__destroy((0, import_err_code.default)(err, "ERR_SET_LOCAL_DESCRIPTION"));
        };
        this._pc.setLocalDescription(offer).then(onSuccess).catch(onError);
      }).catch((err) => {
        this.__destroy((0, import_err_code.default)(err, "ERR_CREATE_OFFER"));
      });
    }
    _createAnswer() {
      if (this.destroyed) return;
      this._pc.createAnswer(this.answerOptions).then((answer) => {
        if (this.destroyed) return;
        if (!this.trickle && !this.allowHalfTrickle) answer.sdp = filterTrickle(answer.sdp);
        answer.sdp = this.sdpTransform(answer.sdp);
        const sendAnswer = () => {
          if (this.destroyed) return;
          const signal = this._pc.localDescription || answer;
          this._debug("signal");
          this.emit("signal", {
            type: signal.type,
            sdp: signal.sdp
          });
          if (!this.initiator) this._requestMissingTransceivers?.();
        };
        const onSuccess = () => {
          if (this.destroyed) return;
          if (this.trickle || this._iceComplete) sendAnswer();
          else this.once("_iceComplete", sendAnswer);
        };
        const onError = (err) => {
          this.__destroy((0, import_err_code.default)(err, "ERR_SET_LOCAL_DESCRIPTION"));
        };
        this._pc.setLocalDescription(answer).then(onSuccess).catch(onError);
      }).catch((err) => {
        this.__destroy((0, import_err_code.default)(err, "ERR_CREATE_ANSWER"));
      });
    }
    _onConnectionStateChange() {
      if (this.destroyed || this._destroying) return;
      if (this._pc.connectionState === "failed") {
        this.__destroy((0, import_err_code.default)(new Error("Connection failed."), "ERR_CONNECTION_FAILURE"));
      }
    }
    _onIceStateChange() {
      if (this.destroyed) return;
      const iceConnectionState = this._pc.iceConnectionState;
      const iceGatheringState = this._pc.iceGatheringState;
      this._debug(
        "iceStateChange (connection: %s) (gathering: %s)",
        iceConnectionState,
        iceGatheringState
      );
      this.emit("iceStateChange", iceConnectionState, iceGatheringState);
      if (iceConnectionState === "connected" || iceConnectionState === "completed") {
        this._pcReady = true;
        this._maybeReady();
      }
      if (iceConnectionState === "failed") {
        this.__destroy((0, import_err_code.default)(new Error("Ice connection failed."), "ERR_ICE_CONNECTION_FAILURE"));
      }
      if (iceConnectionState === "closed") {
        this.__destroy((0, import_err_code.default)(new Error("Ice connection closed."), "ERR_ICE_CONNECTION_CLOSED"));
      }
    }
    getStats(cb) {
      const flattenValues = (report) => {
        if (Object.prototype.toString.call(report.values) === "[object Array]") {
          report.values.forEach((value) => {
            Object.assign(report, value);
          });
        }
        return report;
      };
      if (this._pc.getStats.length === 0 || this._isReactNativeWebrtc) {
        this._pc.getStats().then((res) => {
          const reports = [];
          res.forEach((report) => {
            reports.push(flattenValues(report));
          });
          cb(null, reports);
        }, (err) => cb(err));
      } else if (this._pc.getStats.length > 0) {
        this._pc.getStats((res) => {
          if (this.destroyed) return;
          const reports = [];
          res.result().forEach((result) => {
            const report = {};
            result.names().forEach((name) => {
              report[name] = result.stat(name);
            });
            report.id = result.id;
            report.type = result.type;
            report.timestamp = result.timestamp;
            reports.push(flattenValues(report));
          });
          cb(null, reports);
        }, (err) => cb(err));
      } else {
        cb(null, []);
      }
    }
    _maybeReady() {
      this._debug("maybeReady pc %s channel %s", this._pcReady, this._channelReady);
      if (this._connected || this._connecting || !this._pcReady || !this._channelReady) return;
      this._connecting = true;
      const findCandidatePair = () => {
        if (this.destroyed || this._destroying) return;
        this.getStats((err, items) => {
          if (this.destroyed || this._destroying) return;
          if (err) items = [];
          const remoteCandidates = {};
          const localCandidates = {};
          const candidatePairs = {};
          let foundSelectedCandidatePair = false;
          items.forEach((item) => {
            if (item.type === "remotecandidate" || item.type === "remote-candidate") {
              remoteCandidates[item.id] = item;
            }
            if (item.type === "localcandidate" || item.type === "local-candidate") {
              localCandidates[item.id] = item;
            }
            if (item.type === "candidatepair" || item.type === "candidate-pair") {
              candidatePairs[item.id] = item;
            }
          });
          const setSelectedCandidatePair = (selectedCandidatePair) => {
            foundSelectedCandidatePair = true;
            let local = localCandidates[selectedCandidatePair.localCandidateId];
            if (local && (local.ip || local.address)) {
              this.localAddress = local.ip || local.address;
              this.localPort = Number(local.port);
            } else if (local && local.ipAddress) {
              this.localAddress = local.ipAddress;
              this.localPort = Number(local.portNumber);
            } else if (typeof selectedCandidatePair.googLocalAddress === "string") {
              local = selectedCandidatePair.googLocalAddress.split(":");
              this.localAddress = local[0];
              this.localPort = Number(local[1]);
            }
            if (this.localAddress) {
              this.localFamily = this.localAddress.includes(":") ? "IPv6" : "IPv4";
            }
            let remote = remoteCandidates[selectedCandidatePair.remoteCandidateId];
            if (remote && (remote.ip || remote.address)) {
              this.remoteAddress = remote.ip || remote.address;
              this.remotePort = Number(remote.port);
            } else if (remote && remote.ipAddress) {
              this.remoteAddress = remote.ipAddress;
              this.remotePort = Number(remote.portNumber);
            } else if (typeof selectedCandidatePair.googRemoteAddress === "string") {
              remote = selectedCandidatePair.googRemoteAddress.split(":");
              this.remoteAddress = remote[0];
              this.remotePort = Number(remote[1]);
            }
            if (this.remoteAddress) {
              this.remoteFamily = this.remoteAddress.includes(":") ? "IPv6" : "IPv4";
            }
            this._debug(
              "connect local: %s:%s remote: %s:%s",
              this.localAddress,
              this.localPort,
              this.remoteAddress,
              this.remotePort
            );
          };
          items.forEach((item) => {
            if (item.type === "transport" && item.selectedCandidatePairId) {
              setSelectedCandidatePair(candidatePairs[item.selectedCandidatePairId]);
            }
            if (item.type === "googCandidatePair" && item.googActiveConnection === "true" || (item.type === "candidatepair" || item.type === "candidate-pair") && item.selected) {
              setSelectedCandidatePair(item);
            }
          });
          if (!foundSelectedCandidatePair && (!Object.keys(candidatePairs).length || Object.keys(localCandidates).length)) {
            unrefTimeout(findCandidatePair, 100);
            return;
          } else {
            this._connecting = false;
            this._connected = true;
          }
          if (this._chunk) {
            try {
              this.send(this._chunk);
            } catch (err2) {
              return this.__destroy((0, import_err_code.default)(err2, "ERR_DATA_CHANNEL"));
            }
            this._chunk = null;
            this._debug('sent chunk from "write before connect"');
            const cb = this._cb;
            this._cb = null;
            cb(null);
          }
          if (typeof this._channel.bufferedAmountLowThreshold !== "number") {
            this._interval = unrefInterval(() => this._onInterval(), 150);
          }
          this._debug("connect");
          this.emit("connect");
        });
      };
      findCandidatePair();
    }
    _onInterval() {
      if (!this._cb || !this._channel || this._channel.bufferedAmount > MAX_BUFFERED_AMOUNT) {
        return;
      }
      this._onChannelBufferedAmountLow();
    }
    _onSignalingStateChange() {
      if (this.destroyed) return;
      if (this._pc.signalingState === "stable") {
        this._isNegotiating = false;
        this._debug("flushing sender queue", this._sendersAwaitingStable);
        this._sendersAwaitingStable.forEach((sender) => {
          this._pc.removeTrack(sender);
          this._queuedNegotiation = true;
        });
        this._sendersAwaitingStable = [];
        if (this._queuedNegotiation) {
          this._debug("flushing negotiation queue");
          this._queuedNegotiation = false;
          this._needsNegotiation();
        } else {
          this._debug("negotiated");
          this.emit("negotiated");
        }
      }
      this._debug("signalingStateChange %s", this._pc.signalingState);
      this.emit("signalingStateChange", this._pc.signalingState);
    }
    _onIceCandidate(event) {
      if (this.destroyed) return;
      if (event.candidate && this.trickle) {
        this.emit("signal", {
          type: "candidate",
          candidate: {
            candidate: event.candidate.candidate,
            sdpMLineIndex: event.candidate.sdpMLineIndex,
            sdpMid: event.candidate.sdpMid
          }
        });
      } else if (!event.candidate && !this._iceComplete) {
        this._iceComplete = true;
        this.emit("_iceComplete");
      }
      if (event.candidate) {
        this._startIceCompleteTimeout();
      }
    }
    _onChannelMessage(event) {
      if (this.destroyed) return;
      let data = event.data;
      if (data instanceof ArrayBuffer) {
        data = new Uint8Array(data);
      } else if (this.__objectMode === false) {
        data = text2arr(data);
      }
      this.push(data);
    }
    _onChannelBufferedAmountLow() {
      if (this.destroyed || !this._cb) return;
      this._debug("ending backpressure: bufferedAmount %d", this._channel.bufferedAmount);
      const cb = this._cb;
      this._cb = null;
      cb(null);
    }
    _onChannelOpen() {
      if (this._connected || this.destroyed) return;
      this._debug("on channel open");
      this._channelReady = true;
      this._maybeReady();
    }
    _onChannelClose() {
      if (this.destroyed) return;
      this._debug("on channel close");
      this.__destroy();
    }
    _debug() {
      const args = [].slice.call(arguments);
      args[0] = "[" + this._id + "] " + args[0];
      Debug.apply(null, args);
    }
  };
  Peer.WEBRTC_SUPPORT = !!RTCPeerConnection;
  Peer.config = {
    iceServers: [
      {
        urls: [
          "stun:stun.l.google.com:19302",
          "stun:global.stun.twilio.com:3478"
        ]
      }
    ],
    sdpSemantics: "unified-plan"
  };
  Peer.channelConfig = {};
  var lite_default = Peer;

  // node_modules/bittorrent-tracker/client.js
  var import_queue_microtask2 = __toESM(require_queue_microtask(), 1);

  // node_modules/bittorrent-tracker/lib/common.js
  var common_exports = {};
  __export(common_exports, {
    DEFAULT_ANNOUNCE_PEERS: () => DEFAULT_ANNOUNCE_PEERS,
    MAX_ANNOUNCE_PEERS: () => MAX_ANNOUNCE_PEERS,
    default: () => common_default,
    parseUrl: () => parseUrl
  });
  var common = __toESM(require_common_node(), 1);
  __reExport(common_exports, __toESM(require_common_node(), 1));
  var DEFAULT_ANNOUNCE_PEERS = 50;
  var MAX_ANNOUNCE_PEERS = 82;
  var parseUrl = (str) => {
    const url = new URL(str.replace(/^udp:/, "http:"));
    if (str.match(/^udp:/)) {
      Object.defineProperties(url, {
        href: { value: url.href.replace(/^http/, "udp") },
        protocol: { value: url.protocol.replace(/^http/, "udp") },
        origin: { value: url.origin.replace(/^http/, "udp") }
      });
    }
    return url;
  };
  var common_default = {
    DEFAULT_ANNOUNCE_PEERS,
    MAX_ANNOUNCE_PEERS,
    parseUrl,
    ...common
  };

  // node_modules/bittorrent-tracker/client.js
  var import_http_tracker = __toESM(require_http_tracker(), 1);
  var import_udp_tracker = __toESM(require_udp_tracker(), 1);

  // node_modules/bittorrent-tracker/lib/client/websocket-tracker.js
  var import_debug3 = __toESM(require_browser(), 1);

  // node_modules/@thaunknown/simple-websocket/index.js
  var import_debug2 = __toESM(require_browser(), 1);
  var import_queue_microtask = __toESM(require_queue_microtask(), 1);
  var import_ws = __toESM(require_browser3(), 1);
  var import_streamx2 = __toESM(require_streamx(), 1);
  var debug2 = (0, import_debug2.default)("simple-websocket");
  var _WebSocket = typeof import_ws.default !== "function" ? WebSocket : import_ws.default;
  var MAX_BUFFERED_AMOUNT2 = 64 * 1024;
  var Socket = class extends import_streamx2.Duplex {
    constructor(opts = {}) {
      if (typeof opts === "string") {
        opts = { url: opts };
      }
      opts = Object.assign({
        allowHalfOpen: false
      }, opts);
      super(opts);
      this.__objectMode = !!opts.objectMode;
      if (opts.objectMode != null) delete opts.objectMode;
      if (opts.url == null && opts.socket == null) {
        throw new Error("Missing required `url` or `socket` option");
      }
      if (opts.url != null && opts.socket != null) {
        throw new Error("Must specify either `url` or `socket` option, not both");
      }
      this._id = arr2hex(randomBytes(4)).slice(0, 7);
      this._debug("new websocket: %o", opts);
      this.connected = false;
      this._chunk = null;
      this._cb = null;
      this._interval = null;
      if (opts.socket) {
        this.url = opts.socket.url;
        this._ws = opts.socket;
        this.connected = opts.socket.readyState === _WebSocket.OPEN;
      } else {
        this.url = opts.url;
        try {
          if (typeof import_ws.default === "function") {
            this._ws = new _WebSocket(opts.url, {
              ...opts,
              encoding: void 0
              // encoding option breaks ws internals
            });
          } else {
            this._ws = new _WebSocket(opts.url);
          }
        } catch (err) {
          (0, import_queue_microtask.default)(() => this.destroy(err));
          return;
        }
      }
      this._ws.binaryType = "arraybuffer";
      if (opts.socket && this.connected) {
        (0, import_queue_microtask.default)(() => this._handleOpen());
      } else {
        this._ws.onopen = () => this._handleOpen();
      }
      this._ws.onmessage = (event) => this._handleMessage(event);
      this._ws.onclose = () => this._handleClose();
      this._ws.onerror = (err) => this._handleError(err);
      this._handleFinishBound = () => this._handleFinish();
      this.once("finish", this._handleFinishBound);
    }
    /**
     * Send text/binary data to the WebSocket server.
     * @param {TypedArrayView|ArrayBuffer|Uint8Array|string|Blob|Object} chunk
     */
    send(chunk) {
      this._ws.send(chunk);
    }
    _final(cb) {
      if (!this._readableState.ended) this.push(null);
      cb(null);
    }
    _destroy(cb) {
      if (this.destroyed) return;
      if (!this._writableState.ended) this.end();
      this.connected = false;
      clearInterval(this._interval);
      this._interval = null;
      this._chunk = null;
      this._cb = null;
      if (this._handleFinishBound) {
        this.removeListener("finish", this._handleFinishBound);
      }
      this._handleFinishBound = null;
      if (this._ws) {
        const ws2 = this._ws;
        const onClose = () => {
          ws2.onclose = null;
        };
        if (ws2.readyState === _WebSocket.CLOSED) {
          onClose();
        } else {
          try {
            ws2.onclose = onClose;
            ws2.close();
          } catch (err) {
            onClose();
          }
        }
        ws2.onopen = null;
        ws2.onmessage = null;
        ws2.onerror = () => {
        };
      }
      this._ws = null;
      cb();
    }
    _write(chunk, cb) {
      if (this.destroyed) return cb(new Error("cannot write after socket is destroyed"));
      if (this.connected) {
        try {
          this.send(chunk);
        } catch (err) {
          return this.destroy(err);
        }
        if (typeof import_ws.default !== "function" && this._ws.bufferedAmount > MAX_BUFFERED_AMOUNT2) {
          this._debug("start backpressure: bufferedAmount %d", this._ws.bufferedAmount);
          this._cb = cb;
        } else {
          cb(null);
        }
      } else {
        this._debug("write before connect");
        this._chunk = chunk;
        this._cb = cb;
      }
    }
    _handleOpen() {
      if (this.connected || this.destroyed) return;
      this.connected = true;
      if (this._chunk) {
        try {
          this.send(this._chunk);
        } catch (err) {
          return this.destroy(err);
        }
        this._chunk = null;
        this._debug('sent chunk from "write before connect"');
        const cb = this._cb;
        this._cb = null;
        cb(null);
      }
      if (typeof import_ws.default !== "function") {
        this._interval = setInterval(() => this._onInterval(), 150);
        this._interval.unref?.();
      }
      this._debug("connect");
      this.emit("connect");
    }
    _handleMessage(event) {
      if (this.destroyed) return;
      let data = event.data;
      if (data instanceof ArrayBuffer) data = new Uint8Array(data);
      if (this.__objectMode === false) data = text2arr(data);
      this.push(data);
    }
    _handleClose() {
      if (this.destroyed) return;
      this._debug("on close");
      this.destroy();
    }
    _handleError(_) {
      this.destroy(new Error(`Error connecting to ${this.url}`));
    }
    // When stream finishes writing, close socket. Half open connections are not
    // supported.
    _handleFinish() {
      if (this.destroyed) return;
      const destroySoon = () => {
        setTimeout(() => this.destroy(), 1e3).unref?.();
      };
      if (this.connected) {
        destroySoon();
      } else {
        this.once("connect", destroySoon);
      }
    }
    _onInterval() {
      if (!this._cb || !this._ws || this._ws.bufferedAmount > MAX_BUFFERED_AMOUNT2) {
        return;
      }
      this._debug("ending backpressure: bufferedAmount %d", this._ws.bufferedAmount);
      const cb = this._cb;
      this._cb = null;
      cb(null);
    }
    _debug() {
      const args = [].slice.call(arguments);
      args[0] = "[" + this._id + "] " + args[0];
      debug2.apply(null, args);
    }
  };
  Socket.WEBSOCKET_SUPPORT = !!_WebSocket;

  // node_modules/bittorrent-tracker/lib/client/tracker.js
  var import_events = __toESM(require_events(), 1);
  var Tracker = class extends import_events.default {
    constructor(client, announceUrl) {
      super();
      this.client = client;
      this.announceUrl = announceUrl;
      this.interval = null;
      this.destroyed = false;
    }
    setInterval(intervalMs) {
      if (intervalMs == null) intervalMs = this.DEFAULT_ANNOUNCE_INTERVAL;
      clearInterval(this.interval);
      if (intervalMs) {
        this.interval = setInterval(() => {
          this.announce(this.client._defaultAnnounceOpts());
        }, intervalMs);
        if (this.interval.unref) this.interval.unref();
      }
    }
  };
  var tracker_default = Tracker;

  // node_modules/bittorrent-tracker/lib/client/websocket-tracker.js
  var debug3 = (0, import_debug3.default)("bittorrent-tracker:websocket-tracker");
  var socketPool = {};
  var RECONNECT_MINIMUM = 10 * 1e3;
  var RECONNECT_MAXIMUM = 60 * 60 * 1e3;
  var RECONNECT_VARIANCE = 5 * 60 * 1e3;
  var OFFER_TIMEOUT = 50 * 1e3;
  var WebSocketTracker = class extends tracker_default {
    constructor(client, announceUrl) {
      super(client, announceUrl);
      debug3("new websocket tracker %s", announceUrl);
      this.peers = {};
      this.socket = null;
      this.reconnecting = false;
      this.retries = 0;
      this.reconnectTimer = null;
      this.expectingResponse = false;
      this._openSocket();
    }
    announce(opts) {
      if (this.destroyed || this.reconnecting) return;
      if (!this.socket.connected) {
        this.socket.once("connect", () => {
          this.announce(opts);
        });
        return;
      }
      const params = Object.assign({}, opts, {
        action: "announce",
        info_hash: this.client._infoHashBinary,
        peer_id: this.client._peerIdBinary
      });
      if (this._trackerId) params.trackerid = this._trackerId;
      if (opts.event === "stopped" || opts.event === "completed") {
        this._send(params);
      } else {
        const numwant = Math.min(opts.numwant, 5);
        this._generateOffers(numwant, (offers) => {
          params.numwant = numwant;
          params.offers = offers;
          this._send(params);
        });
      }
    }
    scrape(opts) {
      if (this.destroyed || this.reconnecting) return;
      if (!this.socket.connected) {
        this.socket.once("connect", () => {
          this.scrape(opts);
        });
        return;
      }
      const infoHashes = Array.isArray(opts.infoHash) && opts.infoHash.length > 0 ? opts.infoHash.map((infoHash) => hex2bin(infoHash)) : opts.infoHash && hex2bin(opts.infoHash) || this.client._infoHashBinary;
      const params = {
        action: "scrape",
        info_hash: infoHashes
      };
      this._send(params);
    }
    destroy(cb = noop) {
      if (this.destroyed) return cb(null);
      this.destroyed = true;
      clearInterval(this.interval);
      clearTimeout(this.reconnectTimer);
      for (const peerId in this.peers) {
        const peer = this.peers[peerId];
        clearTimeout(peer.trackerTimeout);
        peer.destroy();
      }
      this.peers = null;
      if (this.socket) {
        this.socket.removeListener("connect", this._onSocketConnectBound);
        this.socket.removeListener("data", this._onSocketDataBound);
        this.socket.removeListener("close", this._onSocketCloseBound);
        this.socket.removeListener("error", this._onSocketErrorBound);
        this.socket = null;
      }
      this._onSocketConnectBound = null;
      this._onSocketErrorBound = null;
      this._onSocketDataBound = null;
      this._onSocketCloseBound = null;
      if (socketPool[this.announceUrl]) {
        socketPool[this.announceUrl].consumers -= 1;
      }
      if (socketPool[this.announceUrl].consumers > 0) return cb();
      let socket = socketPool[this.announceUrl];
      delete socketPool[this.announceUrl];
      socket.on("error", noop);
      socket.once("close", cb);
      let timeout;
      if (!this.expectingResponse) return destroyCleanup();
      timeout = setTimeout(destroyCleanup, common_default.DESTROY_TIMEOUT);
      socket.once("data", destroyCleanup);
      function destroyCleanup() {
        if (timeout) {
          clearTimeout(timeout);
          timeout = null;
        }
        socket.removeListener("data", destroyCleanup);
        socket.destroy();
        socket = null;
      }
    }
    _openSocket() {
      this.destroyed = false;
      if (!this.peers) this.peers = {};
      this._onSocketConnectBound = () => {
        this._onSocketConnect();
      };
      this._onSocketErrorBound = (err) => {
        this._onSocketError(err);
      };
      this._onSocketDataBound = (data) => {
        this._onSocketData(data);
      };
      this._onSocketCloseBound = () => {
        this._onSocketClose();
      };
      this.socket = socketPool[this.announceUrl];
      if (this.socket) {
        socketPool[this.announceUrl].consumers += 1;
        if (this.socket.connected) {
          this._onSocketConnectBound();
        }
      } else {
        const parsedUrl = new URL(this.announceUrl);
        let agent;
        if (this.client._proxyOpts) {
          agent = parsedUrl.protocol === "wss:" ? this.client._proxyOpts.httpsAgent : this.client._proxyOpts.httpAgent;
          if (!agent && this.client._proxyOpts.socksProxy) {
            agent = this.client._proxyOpts.socksProxy;
          }
        }
        this.socket = socketPool[this.announceUrl] = new Socket({ url: this.announceUrl, agent });
        this.socket.consumers = 1;
        this.socket.once("connect", this._onSocketConnectBound);
      }
      this.socket.on("data", this._onSocketDataBound);
      this.socket.once("close", this._onSocketCloseBound);
      this.socket.once("error", this._onSocketErrorBound);
    }
    _onSocketConnect() {
      if (this.destroyed) return;
      if (this.reconnecting) {
        this.reconnecting = false;
        this.retries = 0;
        this.announce(this.client._defaultAnnounceOpts());
      }
    }
    _onSocketData(data) {
      if (this.destroyed) return;
      this.expectingResponse = false;
      try {
        data = JSON.parse(arr2text(data));
      } catch (err) {
        this.client.emit("warning", new Error("Invalid tracker response"));
        return;
      }
      if (data.action === "announce") {
        this._onAnnounceResponse(data);
      } else if (data.action === "scrape") {
        this._onScrapeResponse(data);
      } else {
        this._onSocketError(new Error(`invalid action in WS response: ${data.action}`));
      }
    }
    _onAnnounceResponse(data) {
      if (data.info_hash !== this.client._infoHashBinary) {
        debug3(
          "ignoring websocket data from %s for %s (looking for %s: reused socket)",
          this.announceUrl,
          bin2hex(data.info_hash),
          this.client.infoHash
        );
        return;
      }
      if (data.peer_id && data.peer_id === this.client._peerIdBinary) {
        return;
      }
      debug3(
        "received %s from %s for %s",
        JSON.stringify(data),
        this.announceUrl,
        this.client.infoHash
      );
      const failure = data["failure reason"];
      if (failure) return this.client.emit("warning", new Error(failure));
      const warning = data["warning message"];
      if (warning) this.client.emit("warning", new Error(warning));
      const interval = data.interval || data["min interval"];
      if (interval) this.setInterval(interval * 1e3);
      const trackerId = data["tracker id"];
      if (trackerId) {
        this._trackerId = trackerId;
      }
      if (data.complete != null) {
        const response = Object.assign({}, data, {
          announce: this.announceUrl,
          infoHash: bin2hex(data.info_hash)
        });
        this.client.emit("update", response);
      }
      let peer;
      if (data.offer && data.peer_id) {
        debug3("creating peer (from remote offer)");
        peer = this._createPeer();
        peer.id = bin2hex(data.peer_id);
        peer.once("signal", (answer) => {
          const params = {
            action: "announce",
            info_hash: this.client._infoHashBinary,
            peer_id: this.client._peerIdBinary,
            to_peer_id: data.peer_id,
            answer,
            offer_id: data.offer_id
          };
          if (this._trackerId) params.trackerid = this._trackerId;
          this._send(params);
        });
        this.client.emit("peer", peer);
        peer.signal(data.offer);
      }
      if (data.answer && data.peer_id) {
        const offerId = bin2hex(data.offer_id);
        peer = this.peers[offerId];
        if (peer) {
          peer.id = bin2hex(data.peer_id);
          this.client.emit("peer", peer);
          peer.signal(data.answer);
          clearTimeout(peer.trackerTimeout);
          peer.trackerTimeout = null;
          delete this.peers[offerId];
        } else {
          debug3(`got unexpected answer: ${JSON.stringify(data.answer)}`);
        }
      }
    }
    _onScrapeResponse(data) {
      data = data.files || {};
      const keys = Object.keys(data);
      if (keys.length === 0) {
        this.client.emit("warning", new Error("invalid scrape response"));
        return;
      }
      keys.forEach((infoHash) => {
        const response = Object.assign(data[infoHash], {
          announce: this.announceUrl,
          infoHash: bin2hex(infoHash)
        });
        this.client.emit("scrape", response);
      });
    }
    _onSocketClose() {
      if (this.destroyed) return;
      this.destroy();
      this._startReconnectTimer();
    }
    _onSocketError(err) {
      if (this.destroyed) return;
      this.destroy();
      this.client.emit("warning", err);
      this._startReconnectTimer();
    }
    _startReconnectTimer() {
      const ms = Math.floor(Math.random() * RECONNECT_VARIANCE) + Math.min(Math.pow(2, this.retries) * RECONNECT_MINIMUM, RECONNECT_MAXIMUM);
      this.reconnecting = true;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => {
        this.retries++;
        this._openSocket();
      }, ms);
      if (this.reconnectTimer.unref) this.reconnectTimer.unref();
      debug3("reconnecting socket in %s ms", ms);
    }
    _send(params) {
      if (this.destroyed) return;
      this.expectingResponse = true;
      const message = JSON.stringify(params);
      debug3("send %s", message);
      this.socket.send(message);
    }
    _generateOffers(numwant, cb) {
      const self2 = this;
      const offers = [];
      debug3("generating %s offers", numwant);
      for (let i = 0; i < numwant; ++i) {
        generateOffer();
      }
      checkDone();
      function generateOffer() {
        const offerId = arr2hex(randomBytes(20));
        debug3("creating peer (from _generateOffers)");
        const peer = self2.peers[offerId] = self2._createPeer({ initiator: true });
        peer.once("signal", (offer) => {
          offers.push({
            offer,
            offer_id: hex2bin(offerId)
          });
          checkDone();
        });
        peer.trackerTimeout = setTimeout(() => {
          debug3("tracker timeout: destroying peer");
          peer.trackerTimeout = null;
          delete self2.peers[offerId];
          peer.destroy();
        }, OFFER_TIMEOUT);
        if (peer.trackerTimeout.unref) peer.trackerTimeout.unref();
      }
      function checkDone() {
        if (offers.length === numwant) {
          debug3("generated %s offers", numwant);
          cb(offers);
        }
      }
    }
    _createPeer(opts) {
      const self2 = this;
      opts = Object.assign({
        trickle: false,
        config: self2.client._rtcConfig,
        wrtc: self2.client._wrtc
      }, opts);
      const peer = new lite_default(opts);
      peer.once("error", onError);
      peer.once("connect", onConnect);
      return peer;
      function onError(err) {
        self2.client.emit("warning", new Error(`Connection error: ${err.message}`));
        peer.destroy();
      }
      function onConnect() {
        peer.removeListener("error", onError);
        peer.removeListener("connect", onConnect);
      }
    }
  };
  WebSocketTracker.prototype.DEFAULT_ANNOUNCE_INTERVAL = 30 * 1e3;
  WebSocketTracker._socketPool = socketPool;
  function noop() {
  }
  var websocket_tracker_default = WebSocketTracker;

  // node_modules/bittorrent-tracker/client.js
  var debug4 = (0, import_debug4.default)("bittorrent-tracker:client");
  var Client = class extends import_events2.default {
    constructor(opts = {}) {
      super();
      if (!opts.peerId) throw new Error("Option `peerId` is required");
      if (!opts.infoHash) throw new Error("Option `infoHash` is required");
      if (!opts.announce) throw new Error("Option `announce` is required");
      if (false) throw new Error("Option `port` is required");
      this.peerId = typeof opts.peerId === "string" ? opts.peerId : arr2hex(opts.peerId);
      this._peerIdBuffer = hex2arr(this.peerId);
      this._peerIdBinary = hex2bin(this.peerId);
      this.infoHash = typeof opts.infoHash === "string" ? opts.infoHash.toLowerCase() : arr2hex(opts.infoHash);
      this._infoHashBuffer = hex2arr(this.infoHash);
      this._infoHashBinary = hex2bin(this.infoHash);
      debug4("new client %s", this.infoHash);
      this.destroyed = false;
      this._port = opts.port;
      this._getAnnounceOpts = opts.getAnnounceOpts;
      this._rtcConfig = opts.rtcConfig;
      this._userAgent = opts.userAgent;
      this._proxyOpts = opts.proxyOpts;
      this._wrtc = typeof opts.wrtc === "function" ? opts.wrtc() : opts.wrtc;
      let announce = typeof opts.announce === "string" ? [opts.announce] : opts.announce == null ? [] : opts.announce;
      announce = announce.map((announceUrl) => {
        if (ArrayBuffer.isView(announceUrl)) announceUrl = arr2text(announceUrl);
        if (announceUrl[announceUrl.length - 1] === "/") {
          announceUrl = announceUrl.substring(0, announceUrl.length - 1);
        }
        return announceUrl;
      });
      announce = Array.from(new Set(announce));
      const webrtcSupport = this._wrtc !== false && (!!this._wrtc || lite_default.WEBRTC_SUPPORT);
      const nextTickWarn = (err) => {
        (0, import_queue_microtask2.default)(() => {
          this.emit("warning", err);
        });
      };
      this._trackers = announce.map((announceUrl) => {
        let parsedUrl;
        try {
          parsedUrl = common_default.parseUrl(announceUrl);
        } catch (err) {
          nextTickWarn(new Error(`Invalid tracker URL: ${announceUrl}`));
          return null;
        }
        const port = parsedUrl.port;
        if (port < 0 || port > 65535) {
          nextTickWarn(new Error(`Invalid tracker port: ${announceUrl}`));
          return null;
        }
        const protocol = parsedUrl.protocol;
        if ((protocol === "http:" || protocol === "https:") && typeof import_http_tracker.default === "function") {
          return new import_http_tracker.default(this, announceUrl);
        } else if (protocol === "udp:" && typeof import_udp_tracker.default === "function") {
          return new import_udp_tracker.default(this, announceUrl);
        } else if ((protocol === "ws:" || protocol === "wss:") && webrtcSupport) {
          if (protocol === "ws:" && typeof window !== "undefined" && window.location.protocol === "https:") {
            nextTickWarn(new Error(`Unsupported tracker protocol: ${announceUrl}`));
            return null;
          }
          return new websocket_tracker_default(this, announceUrl);
        } else {
          nextTickWarn(new Error(`Unsupported tracker protocol: ${announceUrl}`));
          return null;
        }
      }).filter(Boolean);
    }
    /**
     * Send a `start` announce to the trackers.
     * @param {Object} opts
     * @param {number=} opts.uploaded
     * @param {number=} opts.downloaded
     * @param {number=} opts.left (if not set, calculated automatically)
     */
    start(opts) {
      opts = this._defaultAnnounceOpts(opts);
      opts.event = "started";
      debug4("send `start` %o", opts);
      this._announce(opts);
      this._trackers.forEach((tracker) => {
        tracker.setInterval();
      });
    }
    /**
     * Send a `stop` announce to the trackers.
     * @param {Object} opts
     * @param {number=} opts.uploaded
     * @param {number=} opts.downloaded
     * @param {number=} opts.numwant
     * @param {number=} opts.left (if not set, calculated automatically)
     */
    stop(opts) {
      opts = this._defaultAnnounceOpts(opts);
      opts.event = "stopped";
      debug4("send `stop` %o", opts);
      this._announce(opts);
    }
    /**
     * Send a `complete` announce to the trackers.
     * @param {Object} opts
     * @param {number=} opts.uploaded
     * @param {number=} opts.downloaded
     * @param {number=} opts.numwant
     * @param {number=} opts.left (if not set, calculated automatically)
     */
    complete(opts) {
      if (!opts) opts = {};
      opts = this._defaultAnnounceOpts(opts);
      opts.event = "completed";
      debug4("send `complete` %o", opts);
      this._announce(opts);
    }
    /**
     * Send a `update` announce to the trackers.
     * @param {Object} opts
     * @param {number=} opts.uploaded
     * @param {number=} opts.downloaded
     * @param {number=} opts.numwant
     * @param {number=} opts.left (if not set, calculated automatically)
     */
    update(opts) {
      opts = this._defaultAnnounceOpts(opts);
      if (opts.event) delete opts.event;
      debug4("send `update` %o", opts);
      this._announce(opts);
    }
    _announce(opts) {
      this._trackers.forEach((tracker) => {
        tracker.announce(opts);
      });
    }
    /**
     * Send a scrape request to the trackers.
     * @param {Object} opts
     */
    scrape(opts) {
      debug4("send `scrape`");
      if (!opts) opts = {};
      this._trackers.forEach((tracker) => {
        tracker.scrape(opts);
      });
    }
    setInterval(intervalMs) {
      debug4("setInterval %d", intervalMs);
      this._trackers.forEach((tracker) => {
        tracker.setInterval(intervalMs);
      });
    }
    destroy(cb) {
      if (this.destroyed) return;
      this.destroyed = true;
      debug4("destroy");
      const tasks = this._trackers.map((tracker) => (cb2) => {
        tracker.destroy(cb2);
      });
      (0, import_run_parallel.default)(tasks, cb);
      this._trackers = [];
      this._getAnnounceOpts = null;
    }
    _defaultAnnounceOpts(opts = {}) {
      if (opts.numwant == null) opts.numwant = common_default.DEFAULT_ANNOUNCE_PEERS;
      if (opts.uploaded == null) opts.uploaded = 0;
      if (opts.downloaded == null) opts.downloaded = 0;
      if (this._getAnnounceOpts) opts = Object.assign({}, opts, this._getAnnounceOpts());
      return opts;
    }
  };
  Client.scrape = (opts, cb) => {
    cb = (0, import_once.default)(cb);
    if (!opts.infoHash) throw new Error("Option `infoHash` is required");
    if (!opts.announce) throw new Error("Option `announce` is required");
    const clientOpts = Object.assign({}, opts, {
      infoHash: Array.isArray(opts.infoHash) ? opts.infoHash[0] : opts.infoHash,
      peerId: text2arr("01234567890123456789"),
      // dummy value
      port: 6881
      // dummy value
    });
    const client = new Client(clientOpts);
    client.once("error", cb);
    client.once("warning", cb);
    let len = Array.isArray(opts.infoHash) ? opts.infoHash.length : 1;
    const results = {};
    client.on("scrape", (data) => {
      len -= 1;
      results[data.infoHash] = data;
      if (len === 0) {
        client.destroy();
        const keys = Object.keys(results);
        if (keys.length === 1) {
          cb(null, results[keys[0]]);
        } else {
          cb(null, results);
        }
      }
    });
    client.scrape({ infoHash: opts.infoHash });
    return client;
  };
  var client_default = Client;

  // page-entry.js
  globalThis.BtClient = client_default;
})();
/*! Bundled license information:

queue-microtask/index.js:
  (*! queue-microtask. MIT License. Feross Aboukhadijeh <https://feross.org/opensource> *)

run-parallel/index.js:
  (*! run-parallel. MIT License. Feross Aboukhadijeh <https://feross.org/opensource> *)

@thaunknown/simple-peer/lite.js:
  (*! simple-peer. MIT License. Feross Aboukhadijeh <https://feross.org/opensource> *)

@thaunknown/simple-websocket/index.js:
  (*! simple-websocket. MIT License. Feross Aboukhadijeh <https://feross.org/opensource> *)
*/
