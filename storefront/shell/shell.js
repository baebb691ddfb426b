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
