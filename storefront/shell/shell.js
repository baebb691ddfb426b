// The shell's own script, loaded before the fragments' modules (a file, not inline: the page's
// Content-Security-Policy allows no inline script or event-handler attribute).
//
// A fragment comes from its own service, so when that service is down its code cannot load to
// say so: the shell says it in the fragment's place, and loads it again on request. A script
// element's `error` does not bubble, so it is caught on its way down (capture).
"use strict";

function fragmentFailed(script) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => fragmentFailed(script), { once: true });
    return;
  }
  for (const name of script.dataset.elements.split(" ")) {
    for (const element of document.querySelectorAll(name)) {
      element.replaceChildren();
      if (element.dataset.title) {
        const title = document.createElement("h2");
        title.textContent = element.dataset.title;
        element.append(title);
      }
      const notice = document.createElement("div");
      notice.className = "unavailable";
      notice.setAttribute("role", "alert");
      const text = document.createElement("p");
      text.textContent = `${script.dataset.service} is unavailable, try again shortly.`;
      const retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = "Try again";
      retry.addEventListener("click", () => {
        import(`${script.src}?retry=${Date.now()}`).catch(() => fragmentFailed(script));
      });
      notice.append(text, retry);
      element.append(notice);
    }
  }
}

document.addEventListener("error", (event) => {
  const script = event.target;
  if (script instanceof HTMLScriptElement && script.dataset.service) {
    fragmentFailed(script);
  }
}, true);

// Offline: the service worker (sw.js) keeps the shell, the modules and the last answers read,
// so the page opens without a network. Whether the network is there is the shell's question to
// answer for every fragment: `navigator.onLine` says only that some network is up, so the shell
// asks its own origin (`/health`, which the worker never answers from its copies). The answer is
// `data-network` on <html> and a `brewery:network` event ({online}) on document; fragments that
// see a call fail for want of a network say so with `brewery:network-failed`.

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(() => {
    // Without a worker the shop works as before, only not offline.
  });
}

/** How often the shell asks again while offline (the `online` event is not always told). */
const OFFLINE_PROBE_MS = 4000;
let online = true;
let probing = null;
let retry = null;
let backTimer = null;

async function reachable() {
  try {
    await fetch(`/health?probe=${Date.now()}`, { cache: "no-store" });
    return true; // any answer at all means a network
  } catch {
    return false;
  }
}

function showNetwork(isOnline) {
  const banner = document.querySelector(".network");
  if (!banner) return;
  clearTimeout(backTimer);
  banner.classList.toggle("back", isOnline);
  banner.querySelector(".network-title").textContent = isOnline ? "You are back online." : "You are offline.";
  banner.querySelector(".network-text").textContent = isOnline
    ? "What waits on this device is being sent."
    : "The shop shows what you saw last; changes to your cart wait on this device and are sent "
      + "when the network is back. Checking out needs the network.";
  banner.hidden = false;
  if (isOnline) backTimer = setTimeout(() => { banner.hidden = true; }, 5000);
}

function setOnline(isOnline) {
  clearTimeout(retry);
  if (!isOnline) retry = setTimeout(check, OFFLINE_PROBE_MS);
  if (isOnline === online) return;
  online = isOnline;
  document.documentElement.dataset.network = isOnline ? "online" : "offline";
  showNetwork(isOnline);
  document.dispatchEvent(new CustomEvent("brewery:network", { detail: { online: isOnline } }));
}

/** Asks the shell's origin whether the network is there (one question at a time). */
function check() {
  probing ??= reachable().then((isOnline) => {
    probing = null;
    setOnline(isOnline);
  });
  return probing;
}

document.documentElement.dataset.network = "online";
window.addEventListener("offline", () => setOnline(false));
window.addEventListener("online", check);
document.addEventListener("brewery:network-failed", check);
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", check, { once: true });
} else {
  check();
}

// At logout the answers kept for that user (the cart, past orders) leave the device.
document.addEventListener("brewery:token", (event) => {
  if (event.detail?.token || !("caches" in window)) return;
  caches.open("brewery-data").then(async (cache) => {
    for (const request of await cache.keys()) {
      if (new URL(request.url).searchParams.has("brewery-user")) await cache.delete(request);
    }
  }).catch(() => {});
});
