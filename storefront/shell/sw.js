// The storefront's service worker: it keeps what the shop needs to open without a network (the
// shell, the fragments' modules) and the last answers the shop read (catalogue pages and beers,
// the cart, past orders), and hands them out when the network fails. Online, the network always
// answers first, so nothing is ever older than the last visit; offline, the kept copy answers.
// Writes are never touched here: the cart keeps its own queue (orders' fragment, IndexedDB).
//
// The storefront fills in the version (a hash of the shell's files), the modules' addresses and
// the services' origins. A new version installs beside the old one and takes over at once
// (skipWaiting, clients.claim): the shell is read from the network first anyway, and what the
// device keeps (the queue, the kept answers) reads the same in both versions.
"use strict";

const VERSION = {{version}};
// Behind the edge the modules and the services are on the shell's own origin.
const MODULES = {{modules}}.map((url) => new URL(url, self.location.origin).href);
const SERVICES = [self.location.origin, ...{{services}}];

// The shell's files, one cache per version (the old one goes when a new version takes over).
const SHELL_CACHE = `brewery-shell-${VERSION}`;
// The answers read last; kept across versions, dropped per user at logout (see shell.js).
const DATA_CACHE = "brewery-data";
const SHELL = ["/", "/shell.js", "/shop.css", "/manifest.webmanifest", "/icon.svg", "/favicon.ico",
  "/icon-192.png", "/icon-512.png"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: "no-cache" })));
    // A service that is down now only costs its module until the page loads it again.
    await Promise.all(MODULES.map(async (url) => {
      try {
        const response = await fetch(url, { mode: "cors", cache: "no-cache" });
        if (response.ok) await cache.put(url, response);
      } catch {
        // Kept when the page next loads it.
      }
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("brewery-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// The answers worth keeping: catalogue pages and beers, the open order, past orders and one
// order. Never checkout (a write, even by GET) and nothing of users (tokens, accounts).
function keptAnswer(url) {
  if (!SERVICES.includes(url.origin)) return false;
  const path = url.pathname.replace(/\/$/, "");
  if (path === "/api/orders/checkout") return false;
  return /^\/api\/beers(\/[^/]+)?$/.test(path) || /^\/api\/orders(\/(current|\d+))?$/.test(path);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  const own = url.origin === self.location.origin;
  if (own && request.mode === "navigate" && url.pathname === "/") {
    event.respondWith(networkFirst(event, SHELL_CACHE, request, "/", { shellOn5xx: true }));
  } else if (own && SHELL.includes(url.pathname) && url.pathname !== "/") {
    event.respondWith(networkFirst(event, SHELL_CACHE, request, url.pathname));
  } else if (MODULES.includes(url.origin + url.pathname)) {
    event.respondWith(networkFirst(event, SHELL_CACHE, request, url.origin + url.pathname));
  } else if (keptAnswer(url)) {
    event.respondWith(keyFor(request).then((key) => networkFirst(event, DATA_CACHE, request, key)));
  }
});

/** An answer for one user is kept under a key naming that user's token (hashed), never shared. */
async function keyFor(request) {
  const token = request.headers.get("Authorization");
  if (!token) return request.url;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const url = new URL(request.url);
  url.searchParams.set("brewery-user", hex.slice(0, 32));
  return url.href;
}

/** The network's answer (a success is kept for later); without a network, the kept one. The
 * page itself also comes from the copy when an edge answers for a shell that is down. */
async function networkFirst(event, cacheName, request, key, { shellOn5xx = false } = {}) {
  try {
    const response = await fetch(request);
    if (shellOn5xx && response.status >= 500) {
      const kept = await caches.match(key, { cacheName });
      if (kept) return kept;
    }
    const storable = response.ok && !/no-store/.test(response.headers.get("Cache-Control") ?? "");
    if (storable) {
      const copy = response.clone();
      event.waitUntil(caches.open(cacheName).then((cache) => cache.put(key, copy)));
    }
    return response;
  } catch (error) {
    const kept = await caches.match(key, { ignoreVary: true, cacheName });
    if (kept) return kept;
    throw error;
  }
}
