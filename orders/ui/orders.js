// The storefront's cart fragment, served by the orders service: <brewery-cart> (the open
// order: lines with unit prices, line totals and the total; change a quantity, remove a line,
// check out) and <brewery-orders> (past orders with their frozen totals). They take the token
// from localStorage and `brewery:token` events, put beers in the cart on `brewery:add-to-cart`
// ({sku, name, price, quantity}) and answer with `brewery:cart-changed` ({sku, ok, message}).
// Attributes: `api`, the orders service's base URL ("" for the same origin); `currency` (ISO
// code, default EUR).
//
// Every cart change is a write with its own `Idempotency-Key`, made when the shopper makes the
// change and kept with it in a queue on the device (IndexedDB). The queue is sent in order, one
// change at a time; a change leaves it only once orders has answered it. So a change whose answer
// was lost (the network dropped half-way) is sent again with the same key and orders applies it
// once. Without a network the changes wait, shown as pending, and are sent when the shell says
// the network is back (`brewery:network`), on `online`, and at the next visit; then the cart reads
// the server's truth again. Checkout needs the network and says so.

const TOKEN_KEY = "brewery.token";
const NAMES_KEY = "brewery.beer-names";

const STYLE = `
brewery-cart, brewery-orders { display: block; }
.ord-card { background: var(--brewery-surface, #fff); border: 1px solid var(--brewery-line, #ddd);
  border-radius: var(--brewery-radius, 12px); padding: 1rem 1.25rem; }
.ord-card h2 { margin: 0 0 .5rem; font-size: 1.2rem; }
.ord-lines { list-style: none; margin: 0; padding: 0; display: grid; gap: .6rem; }
.ord-line { display: grid; grid-template-columns: 1fr auto; gap: .25rem .75rem; padding-bottom: .6rem;
  border-bottom: 1px solid var(--brewery-line, #eee); }
.ord-line-name { font-weight: 600; margin: 0; }
.ord-line-unit { color: var(--brewery-muted, #666); font-size: .85rem; margin: 0; }
.ord-line-total { font-weight: 700; text-align: right; margin: 0; }
.ord-line-controls { grid-column: 1 / -1; display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; }
.ord-line-controls label { display: grid; gap: .2rem; font-size: .8rem; font-weight: 600; }
.ord-line-controls input { width: 4.5rem; font: inherit; font-weight: 400; padding: .35rem .45rem; border: 1px solid var(--brewery-line, #bbb); border-radius: 8px; }
.ord-total { display: flex; justify-content: space-between; font-size: 1.2rem; font-weight: 800; margin: .75rem 0; }
.ord-card button { font: inherit; padding: .4rem .8rem; border-radius: 8px; border: 1px solid var(--brewery-line, #bbb);
  background: var(--brewery-surface, #fff); cursor: pointer; }
.ord-card button.primary { background: var(--brewery-accent, #8a4b08); color: #fff; border-color: transparent; font-weight: 700; width: 100%; padding: .6rem; }
.ord-card button:disabled { opacity: .5; cursor: default; }
.ord-note { margin: .5rem 0 0; min-height: 1.2em; }
.ord-note.error, .ord-unavailable { color: var(--brewery-danger, #b00020); font-weight: 600; }
.ord-muted { color: var(--brewery-muted, #666); margin: 0; }
.ord-line.ord-pending { border-left: 3px solid #c7861c; padding-left: .6rem; }
.ord-line.ord-removing .ord-line-name, .ord-line.ord-removing .ord-line-total { text-decoration: line-through; color: var(--brewery-muted, #666); }
.ord-pending-note { margin: .15rem 0 0; font-size: .8rem; font-weight: 600; color: #8a5a00; }
.ord-pending-note::before { content: "◷ "; }
.ord-waiting { margin: .6rem 0 0; padding: .4rem .6rem; border-radius: 8px; background: #fff4d6; color: #4a3206; font-size: .9rem; }
.ord-past { list-style: none; padding: 0; margin: 0; display: grid; gap: .5rem; }
.ord-past details { border: 1px solid var(--brewery-line, #eee); border-radius: 8px; padding: .5rem .75rem; }
.ord-past summary { cursor: pointer; display: flex; justify-content: space-between; gap: .5rem; flex-wrap: wrap; }
.ord-past table { width: 100%; border-collapse: collapse; margin-top: .5rem; font-size: .9rem; }
.ord-past th, .ord-past td { text-align: left; padding: .2rem .3rem; }
.ord-past td.num, .ord-past th.num { text-align: right; }
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

function escape(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const QUEUE_DB = "brewery-cart";
const QUEUE_STORE = "changes";
/** How long a change waits before it is tried again after orders could not take it. */
const RETRY_MS = 5000;

/** A new Idempotency-Key: 128 random bits in hex (`crypto.randomUUID` needs a secure context;
 * this does not, so a page served over plain HTTP on a LAN address still sends keys). */
function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function isOffline() {
  return document.documentElement.dataset.network === "offline";
}

/** The queue of cart changes on this device: {seq, token, url, method, body, key, sku, quantity, price}. */
let queueDb = null;
function openQueue() {
  queueDb ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(QUEUE_DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(QUEUE_STORE, { keyPath: "seq", autoIncrement: true });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return queueDb;
}

async function inQueue(mode, work) {
  const db = await openQueue();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(QUEUE_STORE, mode);
    const request = work(tx.objectStore(QUEUE_STORE));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

const queue = {
  /** Every change waiting, oldest first. */
  all: () => inQueue("readonly", (store) => store.getAll()),
  add: (change) => inQueue("readwrite", (store) => store.add(change)),
  remove: (seq) => inQueue("readwrite", (store) => store.delete(seq)),
};

/** One sender at a time, also across the shop's tabs (each change is sent in its turn). */
function exclusively(work) {
  return navigator.locks ? navigator.locks.request("brewery-cart-queue", work) : work();
}

function cents(text) {
  const [whole, fraction = ""] = String(text).split(".");
  return Number(whole) * 100 + Number(`${fraction}00`.slice(0, 2));
}

/** orders itself cannot be used (not reached, or a 5xx); `message` says what to tell. */
class Unavailable extends Error {}

const UNAVAILABLE = "orders is unavailable, try again shortly.";

/** Beer names seen in `brewery:add-to-cart` events, so lines (which carry SKUs) read well. */
function beerNames() {
  try {
    return JSON.parse(localStorage.getItem(NAMES_KEY) ?? "{}");
  } catch {
    return {};
  }
}

/** What both elements share: the API base, the token, money, and calls to orders. */
class OrdersElement extends HTMLElement {
  connectedCallback() {
    addStyle("brewery-orders-style", STYLE);
    this.token = localStorage.getItem(TOKEN_KEY);
    this.money = new Intl.NumberFormat(undefined, { style: "currency", currency: this.getAttribute("currency") || "EUR" });
    this.onToken = (event) => {
      this.token = event.detail.token;
      this.refresh();
    };
    this.onCartChanged = () => this.cartChanged();
    document.addEventListener("brewery:token", this.onToken);
    document.addEventListener("brewery:cart-changed", this.onCartChanged);
    this.refresh();
  }

  disconnectedCallback() {
    document.removeEventListener("brewery:token", this.onToken);
    document.removeEventListener("brewery:cart-changed", this.onCartChanged);
  }

  cartChanged() {}

  get api() {
    return (this.getAttribute("api") ?? "").replace(/\/$/, "");
  }

  price(text) {
    return this.money.format(Number(text));
  }

  async call(method, path, fields, key) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (fields) headers["Content-Type"] = "application/json";
    if (key) headers["Idempotency-Key"] = key;
    let response;
    try {
      response = await fetch(this.api + path, { method, headers, body: fields ? JSON.stringify(fields) : undefined });
    } catch {
      document.dispatchEvent(new CustomEvent("brewery:network-failed"));
      throw new Unavailable(UNAVAILABLE);
    }
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.status >= 500) {
      // A neighbour of orders being down is worth naming; anything else is orders itself.
      const neighbour = /^(users|beers) service unavailable$/.exec(body?.message ?? "");
      throw new Unavailable(neighbour ? `${neighbour[1]} is unavailable, try again shortly.` : UNAVAILABLE);
    }
    if (response.status === 401) {
      this.token = null;
      document.dispatchEvent(new CustomEvent("brewery:unauthorized"));
    }
    return { status: response.status, body };
  }
}

class BreweryCart extends OrdersElement {
  connectedCallback() {
    this.order = null;
    this.pending = [];
    this.sending = null;
    this.sendAgain = false;
    this.onAdd = (event) => this.add(event.detail);
    this.onNetwork = (event) => {
      if (event.detail.online) this.flush();
      else this.render();
    };
    this.onOnline = () => this.flush();
    document.addEventListener("brewery:add-to-cart", this.onAdd);
    document.addEventListener("brewery:network", this.onNetwork);
    window.addEventListener("online", this.onOnline);
    super.connectedCallback();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    document.removeEventListener("brewery:add-to-cart", this.onAdd);
    document.removeEventListener("brewery:network", this.onNetwork);
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.retry);
  }

  async refresh(note) {
    this.unavailable = null;
    await this.readQueue();
    if (this.token) {
      try {
        const { status, body } = await this.call("GET", "/api/orders/current");
        this.order = status === 200 ? body : null;
      } catch (error) {
        this.unavailable = error.message;
      }
    } else {
      this.order = null;
    }
    this.render(note);
    // At every visit (and login) what waits on the device is sent first.
    if (this.pending.length && !this.sending) this.flush();
  }

  /** This user's changes still on the device. */
  async readQueue() {
    try {
      const all = await queue.all();
      this.pending = all.filter((change) => change.token === this.token);
    } catch {
      this.pending = [];
    }
  }

  /** Puts changes ([method, {sku, quantity?, price?}]) in the queue, each with its key made
   * now, once; then sends. */
  async change(...changes) {
    for (const [method, fields] of changes) {
      await queue.add({
        token: this.token,
        url: `${this.api}/api/orders/current`,
        method,
        body: JSON.stringify({ sku: fields.sku, ...(method === "PUT" ? { quantity: fields.quantity } : {}) }),
        key: newKey(),
        sku: fields.sku,
        quantity: fields.quantity ?? 0,
        price: fields.price ?? null,
      });
    }
    this.checkoutKey = null;
    await this.readQueue();
    this.render();
    const sent = await this.flush();
    if (!sent) {
      const message = isOffline()
        ? "Saved on this device; it is sent when the network is back."
        : "Saved on this device; it is sent as soon as orders answers.";
      for (const [method, fields] of changes) {
        if (method === "PUT") this.announce({ sku: fields.sku, ok: true, message });
      }
    }
    return sent;
  }

  /** Sends the queue in order until it is empty or orders cannot be reached; true when empty. */
  flush() {
    if (this.sending) {
      this.sendAgain = true;
      return this.sending;
    }
    clearTimeout(this.retry);
    this.sending = exclusively(async () => {
      let sent = 0;
      let stopped = false;
      do {
        this.sendAgain = false;
        for (;;) {
          const [next] = await queue.all();
          if (!next) break;
          const outcome = await this.send(next);
          if (outcome === "stop") {
            stopped = true;
            break;
          }
          sent += 1;
          await this.readQueue();
          // Progress while more wait; the last one's render is the server's cart (below), so
          // the cart is drawn once per change, not twice.
          if (this.pending.length) this.render();
        }
      } while (this.sendAgain && !stopped);
      return { sent, stopped };
    }).finally(() => {
      this.sending = null;
    }).then(async ({ sent, stopped }) => {
      await this.readQueue();
      if (stopped) {
        this.retry = setTimeout(() => this.flush(), RETRY_MS);
        if (sent) this.render();
        return false;
      }
      // A change queued just as the last one went out.
      if (this.sendAgain) return this.flush();
      // What orders now holds is the truth, whatever was shown as pending.
      if (sent) await this.refresh(this.noteAfterSending);
      this.noteAfterSending = undefined;
      if (this.sendingError) {
        this.noteError(this.sendingError);
        this.sendingError = null;
      }
      return true;
    });
    return this.sending;
  }

  /** One change: "done" once orders answered it (kept or refused), "stop" to try again later. */
  async send(change) {
    let response;
    try {
      response = await fetch(change.url, {
        method: change.method,
        headers: {
          Authorization: `Bearer ${change.token}`,
          "Content-Type": "application/json",
          "Idempotency-Key": change.key,
        },
        body: change.body,
      });
    } catch {
      document.dispatchEvent(new CustomEvent("brewery:network-failed"));
      return "stop";
    }
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    // orders or a neighbour is down, or this key's first request still runs: the same change
    // (same key) goes again later; nothing of it was kept.
    if (response.status >= 500 || response.status === 409) {
      const neighbour = /^(users|beers) service unavailable$/.exec(body?.message ?? "");
      this.announce({ sku: change.sku, ok: false, message: `${neighbour ? neighbour[1] : "orders"} is unavailable; your change waits on this device.` });
      return "stop";
    }
    await queue.remove(change.seq);
    if (response.status === 201 || response.status === 204) {
      if (change.method === "PUT") this.announce({ sku: change.sku, ok: true, message: `Added ${change.quantity} to your cart.` });
      return "done";
    }
    if (response.status === 401) {
      if (change.token === this.token) {
        this.token = null;
        document.dispatchEvent(new CustomEvent("brewery:unauthorized"));
      }
      this.announce({ sku: change.sku, ok: false, message: "Your session has ended; log in again to add beers." });
      return "done";
    }
    const reason = body?.errors?.quantity ? `The quantity ${body.errors.quantity}.` : body?.message;
    this.sendingError = reason ?? "The cart could not be changed.";
    this.announce({ sku: change.sku, ok: false, message: this.sendingError });
    return "done";
  }

  announce(detail) {
    document.dispatchEvent(new CustomEvent("brewery:cart-changed", { detail }));
  }

  async add({ sku, name, price, quantity }) {
    if (name) localStorage.setItem(NAMES_KEY, JSON.stringify({ ...beerNames(), [sku]: name }));
    if (!this.token) {
      this.announce({ sku, ok: false, message: "Log in to add beers to your cart." });
      return;
    }
    await this.change(["PUT", { sku, quantity, price }]);
  }

  /** The cart as it will be once the pending changes are sent: the server's lines, then each
   * change in order. Lines a pending change touches are marked. */
  projected() {
    const lines = new Map();
    for (const line of this.order?.beers ?? []) lines.set(line.sku, { ...line, pending: false });
    for (const change of this.pending) {
      const line = lines.get(change.sku);
      if (change.method === "DELETE") {
        if (line) Object.assign(line, { quantity: 0, pending: true, removing: true });
      } else if (line?.removing) {
        Object.assign(line, { quantity: change.quantity, pending: true, removing: false });
        line.unit_price ??= change.price;
      } else if (line) {
        Object.assign(line, { quantity: line.quantity + change.quantity, pending: true });
        line.unit_price ??= change.price;
      } else {
        lines.set(change.sku, { sku: change.sku, quantity: change.quantity, unit_price: change.price, pending: true });
      }
    }
    for (const line of lines.values()) {
      if (line.pending && !line.removing) {
        line.line_total = line.unit_price == null ? null : ((cents(line.unit_price) * line.quantity) / 100).toFixed(2);
      }
    }
    return [...lines.values()];
  }

  render(note = "") {
    const intro = '<h2 id="ord-cart-title">Your cart</h2>';
    if (this.unavailable && !this.pending.length) {
      const said = isOffline() ? "You are offline; your cart shows again when the network is back." : this.unavailable;
      this.innerHTML = `<section class="ord-card" aria-labelledby="ord-cart-title">${intro}
        <p class="ord-unavailable" role="alert">${escape(said)}</p>
        <button type="button" class="ord-retry">Try again</button></section>`;
      this.querySelector(".ord-retry").addEventListener("click", () => this.refresh());
      return;
    }
    if (!this.token || (!this.order && !this.pending.length)) {
      this.innerHTML = `<section class="ord-card" aria-labelledby="ord-cart-title">${intro}
        <p class="ord-muted">Log in to fill your cart.</p><p class="ord-note" role="status">${escape(note)}</p></section>`;
      return;
    }
    const names = beerNames();
    const projected = this.projected();
    const waiting = this.pending.length > 0;
    const lines = projected.map((line) => `
      <li class="ord-line${line.pending ? " ord-pending" : ""}${line.removing ? " ord-removing" : ""}" data-sku="${escape(line.sku)}">
        <div><p class="ord-line-name">${escape(names[line.sku] ?? `Beer ${line.sku}`)}</p>
          <p class="ord-line-unit">SKU ${escape(line.sku)}${line.unit_price == null ? "" : ` · ${this.price(line.unit_price)} each`}</p>
          ${line.pending ? `<p class="ord-pending-note">${line.removing ? "Removal waiting to be sent" : "Waiting to be sent"}</p>` : ""}</div>
        <p class="ord-line-total">${line.line_total == null ? "–" : this.price(line.line_total)}</p>
        <div class="ord-line-controls">
          <label>Quantity <input type="number" class="ord-quantity" min="0" max="10000" value="${line.quantity}"
            aria-label="Quantity of ${escape(names[line.sku] ?? line.sku)}"></label>
          <button type="button" class="ord-update">Update</button>
          <button type="button" class="ord-remove">Remove</button>
        </div>
      </li>`).join("");
    this.innerHTML = `
      <section class="ord-card" aria-labelledby="ord-cart-title">${intro}
        ${this.unavailable ? `<p class="ord-unavailable" role="alert">${escape(this.unavailable)}</p>` : ""}
        ${lines ? `<ul class="ord-lines">${lines}</ul>` : '<p class="ord-muted">Your cart is empty.</p>'}
        ${waiting ? `<p class="ord-waiting">${this.pending.length === 1 ? "1 change waits" : `${this.pending.length} changes wait`} on this device${isOffline() ? " for the network" : ""}.</p>` : ""}
        <p class="ord-total"><span>${waiting ? "Total with the changes" : "Total"}</span><span class="ord-total-amount">${this.total(projected, waiting)}</span></p>
        <button type="button" class="ord-checkout primary" ${lines ? "" : "disabled"}>Check out</button>
        <p class="ord-note" role="status" aria-live="polite">${escape(note)}</p>
      </section>`;
    for (const row of this.querySelectorAll(".ord-line")) {
      const line = projected.find((l) => l.sku === row.dataset.sku);
      const input = row.querySelector(".ord-quantity");
      row.querySelector(".ord-update").addEventListener("click", () => this.setQuantity(line, input.value));
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") this.setQuantity(line, input.value);
      });
      row.querySelector(".ord-remove").addEventListener("click", () => this.setQuantity(line, "0"));
    }
    this.querySelector(".ord-checkout").addEventListener("click", () => this.checkout());
  }

  total(lines, waiting) {
    if (!waiting) return this.price(this.order?.total ?? "0.00");
    const sum = lines.reduce((total, line) => total + (line.removing || line.line_total == null ? 0 : cents(line.line_total)), 0);
    return this.price((sum / 100).toFixed(2));
  }

  noteError(message) {
    const note = this.querySelector(".ord-note");
    if (note) {
      note.textContent = message;
      note.classList.add("error");
    }
  }

  /** The API adds to a line or removes it; a new quantity is one of those, or both. */
  async setQuantity(line, text) {
    const wanted = Number(text);
    if (!Number.isInteger(wanted) || wanted < 0 || wanted > 10000) {
      this.noteError("The quantity must be a whole number from 0 to 10000.");
      return;
    }
    if (wanted === line.quantity) return;
    this.noteAfterSending = wanted === 0 ? "Removed from your cart." : "Quantity changed.";
    const price = line.unit_price;
    if (wanted < line.quantity) {
      const again = wanted > 0 ? [["PUT", { sku: line.sku, quantity: wanted, price }]] : [];
      await this.change(["DELETE", { sku: line.sku }], ...again);
    } else {
      await this.change(["PUT", { sku: line.sku, quantity: wanted - line.quantity, price }]);
    }
    this.announce({ sku: line.sku, ok: true });
  }

  async checkout() {
    const needsNetwork = "Checking out needs the network; your cart waits on this device until you are back online.";
    if (isOffline()) {
      this.noteError(needsNetwork);
      return;
    }
    // What waits on the device goes first: the order checked out is the one the shopper sees.
    if (this.pending.length && !(await this.flush())) {
      this.noteError(isOffline() ? needsNetwork : "Your cart's changes could not be sent yet; try again shortly.");
      return;
    }
    // One key per checkout the shopper asked for: a retry after a lost answer is the same one.
    this.checkoutKey ??= newKey();
    try {
      const { status, body } = await this.call("POST", "/api/orders/checkout", null, this.checkoutKey);
      this.checkoutKey = null;
      if (status === 200) {
        this.announce({ ok: true, checkedOut: body.id });
        await this.refresh(`Thank you! Order ${body.id} is placed: ${this.price(body.total)}.`);
        return;
      }
      this.noteError(body?.message ?? "Checkout failed.");
    } catch (error) {
      this.noteError(isOffline() ? needsNetwork : error.message);
    }
  }
}

class BreweryOrders extends OrdersElement {
  cartChanged() {
    this.refresh();
  }

  async refresh() {
    this.unavailable = null;
    this.orders = [];
    if (this.token) {
      try {
        const { status, body } = await this.call("GET", "/api/orders/?limit=50");
        this.orders = status === 200 ? body.filter((order) => !order.is_open) : [];
      } catch (error) {
        this.unavailable = error.message;
      }
    }
    this.render();
  }

  render() {
    const intro = '<h2 id="ord-past-title">Past orders</h2>';
    let content;
    if (this.unavailable) {
      content = `<p class="ord-unavailable" role="alert">${escape(this.unavailable)}</p>`;
    } else if (!this.token) {
      content = '<p class="ord-muted">Log in to see your orders.</p>';
    } else if (!this.orders.length) {
      content = '<p class="ord-muted">No orders yet.</p>';
    } else {
      content = `<ul class="ord-past">${this.orders.map((order) => `
        <li data-order="${order.id}"><details>
          <summary><span>Order ${order.id} · ${new Date(order.time_modified).toLocaleString()}</span>
            <strong class="ord-past-total">${this.price(order.total)}</strong></summary>
          <div class="ord-past-lines"></div>
        </details></li>`).join("")}</ul>`;
    }
    this.innerHTML = `<section class="ord-card" aria-labelledby="ord-past-title">${intro}${content}</section>`;
    for (const item of this.querySelectorAll("[data-order]")) {
      item.querySelector("details").addEventListener("toggle", (event) => {
        if (event.target.open) this.showLines(item);
      }, { once: true });
    }
  }

  async showLines(item) {
    const slot = item.querySelector(".ord-past-lines");
    try {
      const { status, body } = await this.call("GET", `/api/orders/${item.dataset.order}`);
      if (status !== 200) return;
      const names = beerNames();
      slot.innerHTML = `<table><thead><tr><th>Beer</th><th class="num">Qty</th><th class="num">Each</th><th class="num">Total</th></tr></thead>
        <tbody>${body.beers.map((line) => `<tr><td>${escape(names[line.sku] ?? line.sku)}</td>
          <td class="num">${line.quantity}</td><td class="num">${this.price(line.unit_price)}</td>
          <td class="num">${this.price(line.line_total)}</td></tr>`).join("")}</tbody></table>`;
    } catch (error) {
      slot.innerHTML = `<p class="ord-unavailable">${escape(error.message)}</p>`;
    }
  }
}

customElements.define("brewery-cart", BreweryCart);
customElements.define("brewery-orders", BreweryOrders);
