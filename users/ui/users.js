// The storefront's account fragment, served by the users service: <brewery-account>.
// Register, log in, log out, and "who am I" (check_token); signed in, change the password (which
// ends every other session) and log out everywhere. It shares only the token: kept in
// localStorage and announced with a `brewery:token` event ({token, user}) on document; it
// listens for `brewery:unauthorized` (another fragment got a 401) and asks for a new login.
// Attribute `api`: the users service's base URL ("" for the same origin).

const TOKEN_KEY = "brewery.token";
const USER_KEY = "brewery.user";

const STYLE = `
brewery-account { display: block; }
brewery-account .acc-card { background: var(--brewery-surface, #fff); border: 1px solid var(--brewery-line, #ddd);
  border-radius: var(--brewery-radius, 12px); padding: 1rem 1.25rem; }
brewery-account .acc-tabs { display: flex; gap: .25rem; margin-bottom: .75rem; }
brewery-account .acc-tabs button { flex: 1; }
brewery-account .acc-tabs button[aria-selected="true"] { background: var(--brewery-accent, #8a4b08); color: #fff; border-color: transparent; }
brewery-account form { display: grid; gap: .6rem; }
brewery-account label { display: grid; gap: .2rem; font-weight: 600; font-size: .9rem; }
brewery-account input { font: inherit; font-weight: 400; padding: .5rem .6rem; border: 1px solid var(--brewery-line, #bbb); border-radius: 8px; }
brewery-account input[aria-invalid="true"] { border-color: var(--brewery-danger, #b00020); }
brewery-account .field-error { color: var(--brewery-danger, #b00020); font-weight: 500; font-size: .85rem; margin: 0; }
brewery-account .field-error:empty { display: none; }
brewery-account .acc-status { margin: 0; min-height: 1.2em; }
brewery-account .acc-status.error { color: var(--brewery-danger, #b00020); font-weight: 600; }
brewery-account button { font: inherit; padding: .5rem .9rem; border-radius: 8px; border: 1px solid var(--brewery-line, #bbb);
  background: var(--brewery-surface, #fff); cursor: pointer; }
brewery-account button.primary { background: var(--brewery-accent, #8a4b08); color: #fff; border-color: transparent; font-weight: 600; }
brewery-account .acc-who { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem; }
brewery-account .acc-user { margin: 0; }
brewery-account .acc-security { margin-top: .75rem; border-top: 1px solid var(--brewery-line, #ddd); padding-top: .5rem; }
brewery-account .acc-security summary { cursor: pointer; font-weight: 600; padding: .25rem 0; }
brewery-account .acc-security-body { display: grid; gap: 1rem; margin-top: .5rem; }
brewery-account .acc-security h3 { font-size: .95rem; margin: 0; }
brewery-account .acc-everywhere { display: grid; gap: .4rem; justify-items: start; }
brewery-account .acc-hint { margin: 0; font-size: .85rem; color: var(--brewery-muted, #555); }
brewery-account button.danger { color: var(--brewery-danger, #b00020); border-color: currentColor; font-weight: 600; }
brewery-account .acc-badge { background: var(--brewery-accent-soft, #f6e7d3); border-radius: 999px; padding: .1rem .6rem; font-size: .8rem; font-weight: 600; }
`;

// A constructed style sheet, not a <style> element: the shell's Content-Security-Policy allows
// no inline style. Once per page, also when the module is loaded again.
function addStyle(id, css) {
  if (!document.adoptedStyleSheets.some((sheet) => sheet.breweryId === id)) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    sheet.breweryId = id;
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  }
}

/** A new Idempotency-Key: 128 random bits in hex (`crypto.randomUUID` needs a secure context;
 * this does not, so a page served over plain HTTP on a LAN address still sends keys). */
function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function escape(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A failure that says the service itself cannot be reached or is not answering. */
class Unavailable extends Error {}

class BreweryAccount extends HTMLElement {
  connectedCallback() {
    addStyle("brewery-account-style", STYLE);
    this.mode = "login";
    this.notice = "";
    this.onUnauthorized = () => this.sessionEnded();
    // Shown as last seen while offline: asked again when the shell says the network is back.
    this.onNetwork = (event) => {
      if (event.detail.online && this.lastSeen && this.token) this.whoAmI();
    };
    document.addEventListener("brewery:network", this.onNetwork);
    document.addEventListener("brewery:unauthorized", this.onUnauthorized);
    this.token = localStorage.getItem(TOKEN_KEY);
    this.user = null;
    this.render();
    if (this.token) this.whoAmI();
  }

  disconnectedCallback() {
    document.removeEventListener("brewery:unauthorized", this.onUnauthorized);
    document.removeEventListener("brewery:network", this.onNetwork);
  }

  get api() {
    return (this.getAttribute("api") ?? "").replace(/\/$/, "");
  }

  /** `token`: sent as `Authorization`, for the endpoints that take the session from there;
   * `key`: a write's `Idempotency-Key`, kept by the caller until an answer comes (a retry is the
   * same write). */
  async call(method, path, fields, token, key) {
    const headers = fields ? { "Content-Type": "application/json" } : {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (key) headers["Idempotency-Key"] = key;
    let response;
    try {
      response = await fetch(this.api + path, {
        method,
        headers,
        body: fields ? JSON.stringify(fields) : undefined,
      });
    } catch {
      document.dispatchEvent(new CustomEvent("brewery:network-failed"));
      throw new Unavailable();
    }
    if (response.status >= 500) throw new Unavailable();
    const body = await response.json().catch(() => null);
    return { status: response.status, body, retryAfter: response.headers.get("Retry-After") };
  }

  announce() {
    document.dispatchEvent(new CustomEvent("brewery:token", { detail: { token: this.token, user: this.user } }));
  }

  remember(token, user) {
    this.token = token;
    this.user = user;
    if (token) {
      localStorage.setItem(TOKEN_KEY, token);
      localStorage.setItem(USER_KEY, JSON.stringify(user));
    } else {
      localStorage.removeItem(TOKEN_KEY);
      localStorage.removeItem(USER_KEY);
    }
    this.announce();
  }

  async whoAmI() {
    try {
      const { status, body } = await this.call("POST", "/api/users/check_token", { token: this.token });
      if (status === 200) {
        this.lastSeen = false;
        this.remember(this.token, body);
      } else {
        this.notice = "Your session has ended; please log in again.";
        this.remember(null, null);
      }
    } catch {
      // Offline the account stays as last seen (the cart still works, queued on the device).
      this.user ??= storedUser();
      this.lastSeen = Boolean(this.user);
      if (!this.user) {
        this.notice = "users is unavailable, try again shortly.";
        this.noticeIsError = true;
      }
    }
    this.render();
  }

  sessionEnded() {
    if (!this.token) return;
    this.notice = "Your session has ended; please log in again.";
    this.mode = "login";
    this.remember(null, null);
    this.render();
    this.querySelector("input")?.focus();
  }

  render() {
    const field = (name, label, type, autocomplete) => `
      <label>${label}
        <input name="${name}" type="${type}" autocomplete="${autocomplete}" required
          aria-describedby="acc-${name}-error">
      </label>
      <p class="field-error" id="acc-${name}-error" data-error-for="${name}"></p>`;
    if (this.user) {
      this.innerHTML = `
        <section class="acc-card" aria-label="Your account">
          <div class="acc-who">
            <p class="acc-user">Signed in as <strong>${escape(this.user.first_name)} ${escape(this.user.last_name)}</strong>
              (${escape(this.user.username)})
              ${this.user.is_admin ? '<span class="acc-badge">administrator</span>' : ""}</p>
            <button type="button" class="acc-logout">Log out</button>
          </div>
          <p class="acc-status" role="status" aria-live="polite">${this.lastSeen ? "Your account as last seen: users cannot be reached." : ""}</p>
          <details class="acc-security">
            <summary>Password and sessions</summary>
            <div class="acc-security-body">
              <form class="acc-form acc-change-password" novalidate aria-labelledby="acc-change-title">
                <h3 id="acc-change-title">Change password</h3>
                ${field("password", "Current password", "password", "current-password")}
                ${field("new_password", "New password", "password", "new-password")}
                <p class="acc-hint">Every other device signed in to this account is logged out.</p>
                <button type="submit" class="primary acc-change">Change password</button>
              </form>
              <div class="acc-everywhere">
                <h3>Log out everywhere</h3>
                <p class="acc-hint">Ends every session of this account, on every device, this one too.</p>
                <button type="button" class="danger acc-logout-all">Log out everywhere</button>
              </div>
            </div>
          </details>
        </section>`;
      this.querySelector(".acc-logout").addEventListener("click", () => this.logout());
      this.querySelector(".acc-logout-all").addEventListener("click", () => this.logoutEverywhere());
      this.querySelector(".acc-change-password").addEventListener("submit", (event) => {
        event.preventDefault();
        this.changePassword(event.target);
      });
      return;
    }
    const login = this.mode === "login";
    this.innerHTML = `
      <section class="acc-card" aria-label="Your account">
        <div class="acc-tabs" role="tablist">
          <button type="button" role="tab" data-mode="login" aria-selected="${login}">Log in</button>
          <button type="button" role="tab" data-mode="register" aria-selected="${!login}">Register</button>
        </div>
        <form class="acc-form acc-${this.mode}" novalidate>
          ${field("username", "Username", "text", "username")}
          ${login ? "" : field("mail", "E-mail", "email", "email")}
          ${login ? "" : field("first_name", "First name", "text", "given-name")}
          ${login ? "" : field("last_name", "Last name", "text", "family-name")}
          ${field("password", "Password", "password", login ? "current-password" : "new-password")}
          <p class="acc-status ${this.noticeIsError ? "error" : ""}" role="status" aria-live="polite">${escape(this.notice)}</p>
          <button type="submit" class="primary">${login ? "Log in" : "Create account"}</button>
        </form>
      </section>`;
    for (const tab of this.querySelectorAll("[data-mode]")) {
      tab.addEventListener("click", () => {
        this.mode = tab.dataset.mode;
        this.notice = "";
        this.render();
        this.querySelector(`[data-mode="${this.mode}"]`).focus();
      });
    }
    this.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      login ? this.login(event.target) : this.register(event.target);
    });
  }

  status(message, isError) {
    const status = this.querySelector(".acc-status");
    status.textContent = message;
    status.classList.toggle("error", Boolean(isError));
  }

  /** Puts the API's `errors` (field → message) next to the named fields. */
  showFieldErrors(form, errors) {
    for (const slot of form.querySelectorAll("[data-error-for]")) {
      const message = errors?.[slot.dataset.errorFor] ?? "";
      slot.textContent = message;
      form.elements[slot.dataset.errorFor]?.setAttribute("aria-invalid", String(Boolean(message)));
    }
    const first = form.querySelector('[aria-invalid="true"]');
    first?.focus();
  }

  fields(form) {
    return Object.fromEntries(new FormData(form).entries());
  }

  async login(form) {
    this.showFieldErrors(form, {});
    this.status("Logging in…");
    try {
      const { status, body, retryAfter } = await this.call("POST", "/api/users/login", this.fields(form));
      if (status === 200) {
        this.token = body.token;
        this.notice = "";
        this.noticeIsError = false;
        await this.whoAmI();
        return;
      }
      if (status === 429) {
        this.status(`Too many failed logins. Try again in ${describeWait(retryAfter)}.`, true);
      } else if (status === 400) {
        this.showFieldErrors(form, body?.errors);
        this.status(body?.message ?? "Please check the fields.", true);
      } else {
        this.status(body?.message ?? "Logging in failed.", true);
        form.elements.password.value = "";
        form.elements.password.focus();
      }
    } catch {
      this.status("users is unavailable, try again shortly.", true);
    }
  }

  async register(form) {
    this.showFieldErrors(form, {});
    this.status("Creating your account…");
    const fields = this.fields(form);
    // The same fields sent again after a lost answer are the same registration (the same key).
    const sent = JSON.stringify(fields);
    if (this.registering?.sent !== sent) this.registering = { sent, key: newKey() };
    try {
      const { status, body } = await this.call("POST", "/api/users/register", fields, undefined, this.registering.key);
      this.registering = null;
      if (status === 200) {
        this.mode = "login";
        this.notice = `Welcome, ${body.first_name}! Your account is ready; log in.`;
        this.noticeIsError = false;
        this.render();
        const username = this.querySelector('input[name="username"]');
        username.value = body.username;
        this.querySelector('input[name="password"]').focus();
      } else {
        this.showFieldErrors(form, body?.errors);
        this.status(body?.message ?? "Registering failed.", true);
      }
    } catch {
      this.status("users is unavailable, try again shortly.", true);
    }
  }

  async changePassword(form) {
    this.showFieldErrors(form, {});
    this.status("Changing your password…");
    try {
      const { status, body, retryAfter } = await this.call("POST", "/api/users/password", this.fields(form), this.token);
      if (status === 200) {
        form.reset();
        this.status("Your password is changed; every other session has ended.");
      } else if (status === 401) {
        this.sessionEnded();
      } else if (status === 429) {
        this.status(`Too many failed attempts. Try again in ${describeWait(retryAfter)}.`, true);
      } else if (status === 403) {
        this.showFieldErrors(form, { password: body?.message ?? "The current password is wrong" });
        form.elements.password.value = "";
        this.status("The password is not changed.", true);
      } else {
        this.showFieldErrors(form, body?.errors);
        this.status(body?.message ?? "Changing the password failed.", true);
      }
    } catch {
      this.status("users is unavailable, try again shortly.", true);
    }
  }

  async logoutEverywhere() {
    try {
      const { status, body } = await this.call("POST", "/api/users/logout_all", undefined, this.token);
      if (status === 401) {
        this.sessionEnded();
        return;
      }
      if (status !== 200) {
        this.status(body?.message ?? "Logging out everywhere failed.", true);
        return;
      }
    } catch {
      // Unlike a logout, this one must reach users: the other devices keep their sessions.
      this.status("users is unavailable, try again shortly; no session has ended.", true);
      return;
    }
    this.notice = "You have logged out everywhere.";
    this.noticeIsError = false;
    this.mode = "login";
    this.remember(null, null);
    this.render();
  }

  async logout() {
    try {
      await this.call("POST", "/api/users/logout", { token: this.token });
    } catch {
      // The token is forgotten here even when users cannot be told; it expires by itself.
    }
    this.notice = "You have logged out.";
    this.noticeIsError = false;
    this.mode = "login";
    this.remember(null, null);
    this.render();
  }
}

function storedUser() {
  try {
    return JSON.parse(localStorage.getItem(USER_KEY) ?? "null");
  } catch {
    return null;
  }
}

/** "42 seconds", "3 minutes": Retry-After in words. */
function describeWait(retryAfter) {
  const seconds = Number.parseInt(retryAfter ?? "", 10);
  if (!Number.isFinite(seconds) || seconds <= 0) return "a little while";
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

customElements.define("brewery-account", BreweryAccount);
