// The storefront's catalogue fragment, served by the beers service: <brewery-catalogue>.
// Lists beers page by page, shows one beer, and asks for it to be put in the cart with a
// `brewery:add-to-cart` event ({sku, name, price, quantity}) on document; the cart answers
// with `brewery:cart-changed` ({sku, ok, message}). Administrators (as `brewery:token`'s user
// says) also add, change and delete beers. Attributes: `api`, the beers service's base URL
// ("" for the same origin); `currency` (ISO code, default EUR); `page-size` (default 12).

const TOKEN_KEY = "brewery.token";
const USER_KEY = "brewery.user";

const STYLE = `
brewery-catalogue { display: block; }
brewery-catalogue .cat-head { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem; }
brewery-catalogue .cat-head h2 { margin: 0; }
brewery-catalogue .cat-grid { list-style: none; padding: 0; margin: 1rem 0; display: grid; gap: 1rem;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 14rem), 1fr)); }
brewery-catalogue .cat-card { background: var(--brewery-surface, #fff); border: 1px solid var(--brewery-line, #ddd);
  border-radius: var(--brewery-radius, 12px); overflow: hidden; display: flex; flex-direction: column; }
brewery-catalogue .cat-picture { aspect-ratio: 16 / 9; max-height: 9rem; width: 100%; display: grid; place-items: center; font-size: 2.4rem; font-weight: 800;
  color: #fff8ec; background: linear-gradient(160deg, #e0a526, #8a4b08); letter-spacing: .05em; }
brewery-catalogue .cat-picture img { width: 100%; height: 100%; object-fit: cover; }
brewery-catalogue .cat-body { padding: .75rem 1rem 1rem; display: grid; gap: .5rem; flex: 1; align-content: start; }
brewery-catalogue .cat-name { margin: 0; font-size: 1.1rem; }
brewery-catalogue .cat-name button { all: unset; cursor: pointer; text-decoration: underline; text-underline-offset: 3px; }
brewery-catalogue .cat-name button:focus-visible { outline: 3px solid var(--brewery-focus, #1f5fbf); outline-offset: 2px; }
brewery-catalogue .cat-sku { color: var(--brewery-muted, #666); font-size: .85rem; margin: 0; }
brewery-catalogue .cat-price { font-size: 1.25rem; font-weight: 700; margin: 0; color: var(--brewery-accent, #8a4b08); }
brewery-catalogue .cat-buy { display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; }
brewery-catalogue label { display: grid; gap: .2rem; font-weight: 600; font-size: .85rem; }
brewery-catalogue input { font: inherit; font-weight: 400; padding: .45rem .55rem; border: 1px solid var(--brewery-line, #bbb); border-radius: 8px; min-width: 0; }
brewery-catalogue .cat-buy input { width: 4.5rem; }
brewery-catalogue input[aria-invalid="true"] { border-color: var(--brewery-danger, #b00020); }
brewery-catalogue button { font: inherit; padding: .45rem .8rem; border-radius: 8px; border: 1px solid var(--brewery-line, #bbb);
  background: var(--brewery-surface, #fff); cursor: pointer; }
brewery-catalogue button.primary { background: var(--brewery-accent, #8a4b08); color: #fff; border-color: transparent; font-weight: 600; }
brewery-catalogue button.danger { color: var(--brewery-danger, #b00020); }
brewery-catalogue button:disabled { opacity: .5; cursor: default; }
brewery-catalogue .cat-note { margin: 0; min-height: 1.2em; font-size: .9rem; }
brewery-catalogue .cat-note.error, brewery-catalogue .field-error { color: var(--brewery-danger, #b00020); font-weight: 600; }
brewery-catalogue .field-error { margin: 0; font-size: .85rem; }
brewery-catalogue .field-error:empty { display: none; }
brewery-catalogue .cat-pager { display: flex; gap: .5rem; align-items: center; justify-content: center; }
brewery-catalogue .cat-admin { background: var(--brewery-surface, #fff); border: 1px dashed var(--brewery-accent, #8a4b08);
  border-radius: var(--brewery-radius, 12px); padding: .75rem 1rem; margin-top: .75rem; }
brewery-catalogue .cat-admin summary { cursor: pointer; font-weight: 700; }
brewery-catalogue form.cat-form { display: grid; gap: .5rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 10rem), 1fr)); align-items: start; margin-top: .5rem; }
brewery-catalogue form.cat-form .cat-note { grid-column: 1 / -1; }
brewery-catalogue form.cat-form .cat-actions { grid-column: 1 / -1; display: flex; gap: .5rem; flex-wrap: wrap; }
brewery-catalogue .cat-detail { background: var(--brewery-surface, #fff); border: 1px solid var(--brewery-line, #ddd);
  border-radius: var(--brewery-radius, 12px); padding: 1rem; margin: 1rem 0; display: grid; gap: 1rem;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 16rem), 1fr)); }
brewery-catalogue .cat-detail dl { display: grid; grid-template-columns: auto 1fr; gap: .3rem 1rem; margin: 0; }
brewery-catalogue .cat-detail dt { font-weight: 600; color: var(--brewery-muted, #666); }
brewery-catalogue .cat-detail dd { margin: 0; }
brewery-catalogue .cat-unavailable { padding: 1rem; border-radius: var(--brewery-radius, 12px); background: #fdecea; color: #7a1010; font-weight: 600; }
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

class Unavailable extends Error {}

function readUser() {
  try {
    return JSON.parse(localStorage.getItem(USER_KEY) ?? "null");
  } catch {
    return null;
  }
}

class BreweryCatalogue extends HTMLElement {
  connectedCallback() {
    addStyle("brewery-catalogue-style", STYLE);
    this.offset = 0;
    this.beers = [];
    this.hasMore = false;
    this.detail = null;
    this.token = localStorage.getItem(TOKEN_KEY);
    this.user = this.token ? readUser() : null;
    this.money = new Intl.NumberFormat(undefined, { style: "currency", currency: this.getAttribute("currency") || "EUR" });
    this.onToken = (event) => {
      this.token = event.detail.token;
      this.user = event.detail.user;
      this.render();
    };
    this.onCartChanged = (event) => {
      const { sku, ok, message } = event.detail ?? {};
      const note = sku && this.querySelector(`[data-sku="${CSS.escape(sku)}"] .cat-note`);
      if (note && message) {
        note.textContent = message;
        note.classList.toggle("error", !ok);
        // A confirmation fades after a while; a problem stays until the next try.
        if (ok) setTimeout(() => note.textContent === message && (note.textContent = ""), 5000);
      }
    };
    document.addEventListener("brewery:token", this.onToken);
    document.addEventListener("brewery:cart-changed", this.onCartChanged);
    this.load();
  }

  disconnectedCallback() {
    document.removeEventListener("brewery:token", this.onToken);
    document.removeEventListener("brewery:cart-changed", this.onCartChanged);
  }

  get api() {
    return (this.getAttribute("api") ?? "").replace(/\/$/, "");
  }

  get pageSize() {
    return Number.parseInt(this.getAttribute("page-size") ?? "", 10) || 12;
  }

  get isAdmin() {
    return Boolean(this.token && this.user?.is_admin);
  }

  async call(method, path, fields, key) {
    const headers = {};
    if (fields) headers["Content-Type"] = "application/json";
    if (this.token && method !== "GET") headers.Authorization = `Bearer ${this.token}`;
    // A write's key, kept by the caller until an answer comes: a retry is the same write.
    if (key) headers["Idempotency-Key"] = key;
    let response;
    try {
      response = await fetch(this.api + path, { method, headers, body: fields ? JSON.stringify(fields) : undefined });
    } catch {
      document.dispatchEvent(new CustomEvent("brewery:network-failed"));
      throw new Unavailable();
    }
    if (response.status >= 500) throw new Unavailable();
    if (response.status === 401) document.dispatchEvent(new CustomEvent("brewery:unauthorized"));
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    return { status: response.status, body };
  }

  async load() {
    try {
      const { status, body } = await this.call("GET", `/api/beers/?limit=${this.pageSize + 1}&offset=${this.offset}`);
      if (status !== 200) throw new Unavailable();
      this.hasMore = body.length > this.pageSize;
      this.beers = body.slice(0, this.pageSize);
      this.unavailable = false;
    } catch {
      this.unavailable = true;
    }
    this.render();
  }

  price(text) {
    return this.money.format(Number(text));
  }

  picture(beer) {
    if (beer.image) return `<div class="cat-picture"><img src="${escape(beer.image)}" alt=""></div>`;
    const initials = beer.name.split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
    return `<div class="cat-picture" aria-hidden="true">${escape(initials)}</div>`;
  }

  card(beer) {
    const admin = this.isAdmin
      ? `<div class="cat-buy"><button type="button" class="cat-edit">Edit</button>
           <button type="button" class="cat-delete danger">Delete</button></div>`
      : "";
    return `
      <li class="cat-card" data-sku="${escape(beer.sku)}">
        ${this.picture(beer)}
        <div class="cat-body">
          <h3 class="cat-name"><button type="button" class="cat-open">${escape(beer.name)}</button></h3>
          <p class="cat-sku">SKU ${escape(beer.sku)}</p>
          <p class="cat-price">${this.price(beer.price)}</p>
          <div class="cat-buy">
            <label>Quantity <input type="number" class="cat-quantity" name="quantity" min="1" max="10000" value="1" inputmode="numeric"></label>
            <button type="button" class="cat-add primary">Add to cart</button>
          </div>
          ${admin}
          <p class="cat-note" role="status" aria-live="polite"></p>
        </div>
      </li>`;
  }

  beerForm(beer) {
    const field = (name, label, type, value, extra = "") => `
      <div><label>${label} <input name="${name}" type="${type}" value="${escape(value ?? "")}" ${extra}
        aria-describedby="cat-${name}-error-${escape(beer?.sku ?? "new")}"></label>
        <p class="field-error" id="cat-${name}-error-${escape(beer?.sku ?? "new")}" data-error-for="${name}"></p></div>`;
    return `
      <form class="cat-form" novalidate data-sku="${escape(beer?.sku ?? "")}">
        ${beer ? "" : field("sku", "SKU", "text", "", "required")}
        ${field("name", "Name", "text", beer?.name, "required")}
        ${field("price", "Price", "text", beer?.price, 'required inputmode="decimal"')}
        ${field("image", "Image URL (optional)", "url", beer?.image)}
        <div class="cat-actions">
          <button type="submit" class="primary">${beer ? "Save changes" : "Add beer"}</button>
          ${beer ? '<button type="button" class="cat-cancel">Cancel</button>' : ""}
        </div>
        <p class="cat-note" role="status" aria-live="polite"></p>
      </form>`;
  }

  render() {
    if (this.unavailable) {
      const said = document.documentElement.dataset.network === "offline"
        ? "You are offline, and this page of the catalogue was not seen before."
        : "beers is unavailable, try again shortly.";
      this.innerHTML = `
        <div class="cat-unavailable" role="alert">${said}
          <button type="button" class="cat-retry">Try again</button></div>`;
      this.querySelector(".cat-retry").addEventListener("click", () => this.load());
      return;
    }
    if (this.detail) return this.renderDetail();
    const page = Math.floor(this.offset / this.pageSize) + 1;
    this.innerHTML = `
      <section aria-labelledby="cat-title">
        <div class="cat-head">
          <h2 id="cat-title">Our beers</h2>
          <span class="cat-sku">Page ${page}</span>
        </div>
        ${this.isAdmin ? `<details class="cat-admin"><summary>Add a beer to the catalogue</summary>${this.beerForm(null)}</details>` : ""}
        ${this.beers.length ? `<ul class="cat-grid">${this.beers.map((b) => this.card(b)).join("")}</ul>`
                            : '<p>The catalogue is empty for now.</p>'}
        <nav class="cat-pager" aria-label="Catalogue pages">
          <button type="button" class="cat-prev" ${this.offset === 0 ? "disabled" : ""}>← Previous</button>
          <button type="button" class="cat-next" ${this.hasMore ? "" : "disabled"}>Next →</button>
        </nav>
      </section>`;
    this.querySelector(".cat-prev").addEventListener("click", () => this.page(-1));
    this.querySelector(".cat-next").addEventListener("click", () => this.page(1));
    const create = this.querySelector("details form");
    create?.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save(create, null);
    });
    for (const card of this.querySelectorAll(".cat-card")) {
      const beer = this.beers.find((b) => b.sku === card.dataset.sku);
      card.querySelector(".cat-open").addEventListener("click", () => this.open(beer));
      card.querySelector(".cat-add").addEventListener("click", () => this.addToCart(card, beer));
      card.querySelector(".cat-edit")?.addEventListener("click", () => this.edit(card, beer));
      card.querySelector(".cat-delete")?.addEventListener("click", (event) => this.remove(card, beer, event.target));
    }
  }

  renderDetail() {
    const beer = this.detail;
    this.innerHTML = `
      <section aria-labelledby="cat-detail-title">
        <button type="button" class="cat-back">← Back to the catalogue</button>
        <article class="cat-detail cat-card" data-sku="${escape(beer.sku)}">
          ${this.picture(beer)}
          <div class="cat-body">
            <h2 id="cat-detail-title" tabindex="-1">${escape(beer.name)}</h2>
            <p class="cat-price">${this.price(beer.price)}</p>
            <dl><dt>SKU</dt><dd>${escape(beer.sku)}</dd>
                <dt>In the catalogue since</dt><dd>${new Date(beer.time_created).toLocaleDateString()}</dd></dl>
            <div class="cat-buy">
              <label>Quantity <input type="number" class="cat-quantity" name="quantity" min="1" max="10000" value="1"></label>
              <button type="button" class="cat-add primary">Add to cart</button>
            </div>
            <p class="cat-note" role="status" aria-live="polite"></p>
          </div>
        </article>
      </section>`;
    this.querySelector(".cat-back").addEventListener("click", () => {
      this.detail = null;
      this.render();
      this.querySelector(`[data-sku="${CSS.escape(beer.sku)}"] .cat-open`)?.focus();
    });
    const card = this.querySelector(".cat-detail");
    card.querySelector(".cat-add").addEventListener("click", () => this.addToCart(card, beer));
    this.querySelector("#cat-detail-title").focus();
  }

  page(step) {
    this.offset = Math.max(0, this.offset + step * this.pageSize);
    this.load();
  }

  async open(beer) {
    try {
      const { status, body } = await this.call("GET", `/api/beers/${encodeURIComponent(beer.sku)}`);
      if (status === 404) {
        this.load();
        return;
      }
      this.detail = body;
    } catch {
      this.unavailable = true;
    }
    this.render();
  }

  addToCart(card, beer) {
    const input = card.querySelector(".cat-quantity");
    const quantity = Number.parseInt(input.value, 10);
    const note = card.querySelector(".cat-note");
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 10000) {
      input.setAttribute("aria-invalid", "true");
      note.textContent = "The quantity must be a whole number from 1 to 10000.";
      note.classList.add("error");
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    note.textContent = "Adding…";
    note.classList.remove("error");
    document.dispatchEvent(new CustomEvent("brewery:add-to-cart", {
      detail: { sku: beer.sku, name: beer.name, price: beer.price, quantity },
    }));
  }

  edit(card, beer) {
    card.querySelector(".cat-body").innerHTML = this.beerForm(beer);
    const form = card.querySelector("form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save(form, beer);
    });
    form.querySelector(".cat-cancel").addEventListener("click", () => this.render());
    form.elements.name.focus();
  }

  async save(form, beer) {
    const fields = Object.fromEntries(new FormData(form).entries());
    const note = form.querySelector(".cat-note");
    for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
    // The same fields sent again after a lost answer are the same write (the same key).
    const sent = JSON.stringify(fields);
    if (form.dataset.sent !== sent) {
      form.dataset.sent = sent;
      form.dataset.key = newKey();
    }
    try {
      const { status, body } = beer
        ? await this.call("PUT", `/api/beers/${encodeURIComponent(beer.sku)}`, fields, form.dataset.key)
        : await this.call("POST", "/api/beers/", fields, form.dataset.key);
      delete form.dataset.sent;
      if (status === 200 || status === 201) {
        await this.load();
        const shown = this.querySelector(`[data-sku="${CSS.escape(body.sku)}"] .cat-note`);
        if (shown) shown.textContent = beer ? "Saved." : "Added to the catalogue.";
        const summary = this.querySelector(".cat-admin");
        if (!beer && summary) {
          summary.open = true;
          summary.querySelector(".cat-note").textContent = `${body.name} (${body.sku}) is in the catalogue.`;
        }
        return;
      }
      for (const slot of form.querySelectorAll("[data-error-for]")) {
        const message = body?.errors?.[slot.dataset.errorFor] ?? "";
        slot.textContent = message;
        form.elements[slot.dataset.errorFor]?.setAttribute("aria-invalid", String(Boolean(message)));
      }
      form.querySelector('[aria-invalid="true"]')?.focus();
      note.textContent = body?.message ?? "Saving failed.";
      note.classList.add("error");
    } catch {
      note.textContent = document.documentElement.dataset.network === "offline"
        ? "Saving needs the network; try again when you are back online."
        : "beers is unavailable, try again shortly.";
      note.classList.add("error");
    }
  }

  async remove(card, beer, button) {
    if (!button.dataset.armed) {
      button.dataset.armed = "1";
      button.textContent = `Really delete ${beer.name}?`;
      return;
    }
    const note = card.querySelector(".cat-note");
    try {
      const { status, body } = await this.call("DELETE", `/api/beers/${encodeURIComponent(beer.sku)}`);
      if (status === 204 || status === 404) {
        await this.load();
        return;
      }
      note.textContent = body?.message ?? "Deleting failed.";
      note.classList.add("error");
    } catch {
      note.textContent = "beers is unavailable, try again shortly.";
      note.classList.add("error");
    }
  }
}

customElements.define("brewery-catalogue", BreweryCatalogue);
