// A plain (non-module) script that even an old browser runs: it says so when this browser
// cannot run the page (or has WebAssembly turned off, as iOS Lockdown Mode does) (ES modules with top-level await, WebAssembly, Web Workers, BigInt),
// instead of leaving a blank page. Chrome/Edge 89+, Firefox 89+ and Safari 15+ (iOS 15+), and
// WeChat's built-in browser on those systems, run the page.
(function () {
  var NOTICE = "您的浏览器无法运行这个页面的核验：版本太旧，或关闭了 WebAssembly（例如 iPhone 的锁定模式）。" +
    "请把浏览器（或微信）更新到最新版本、换一个浏览器，或在电脑上用 verifier 程序核验快照（/snapshot）。 / " +
    "This browser cannot run this page's checks: it is too old, or WebAssembly is turned off (as in " +
    "iPhone Lockdown Mode). Update the browser (or WeChat), use another one, or check the snapshot " +
    "(/snapshot) with the verifier program on a computer.";
  var shown = false;
  function show() {
    if (shown) return;
    shown = true;
    var p = document.createElement("p");
    p.id = "old-browser";
    p.className = "alarm";
    p.setAttribute("role", "alert");
    p.appendChild(document.createTextNode(NOTICE));
    document.body.insertBefore(p, document.body.firstChild);
  }
  function whenReady(f) {
    if (document.body) f();
    else document.addEventListener("DOMContentLoaded", f);
  }
  var supports = typeof WebAssembly === "object" && typeof Worker === "function" &&
    typeof BigInt === "function" && "noModule" in document.createElement("script");
  if (!supports) {
    whenReady(show);
    return;
  }
  // Top-level await and newer syntax cannot be tested without eval (the page's policy forbids
  // it): a browser that cannot parse the modules reports a SyntaxError here instead.
  window.addEventListener("error", function (event) {
    if (event.error instanceof SyntaxError || /SyntaxError/.test(String(event.message))) whenReady(show);
  });
})();
