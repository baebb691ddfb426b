// The storefront's cart fragment, served by the orders service: <brewery-cart> (the open
// order: lines with unit prices, line totals and the total; change a quantity, remove a line,
// check out) and <brewery-orders> (past orders with their frozen totals). They take the token
// from localStorage and `brewery:token` events, put beers in the cart on `brewery:add-to-cart`
// ({sku, name, price, quantity}) and answer with `brewery:cart-changed` ({sku, ok, message}).
// Attributes: `api`, the orders service's base URL ("" for the same origin); `currency` (ISO
// code, default EUR).

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

  async call(method, path, fields) {
    const headers = { Authorization: `Bearer ${this.token}` };
    if (fields) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.api + path, { method, headers, body: fields ? JSON.stringify(fields) : undefined });
    } catch {
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
    this.onAdd = (event) => this.add(event.detail);
    document.addEventListener("brewery:add-to-cart", this.onAdd);
    super.connectedCallback();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    document.removeEventListener("brewery:add-to-cart", this.onAdd);
  }

  async refresh(note) {
    this.unavailable = null;
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
  }

  announce(detail) {
    document.dispatchEvent(new CustomEvent("brewery:cart-changed", { detail }));
  }

  async add({ sku, name, quantity }) {
    if (name) localStorage.setItem(NAMES_KEY, JSON.stringify({ ...beerNames(), [sku]: name }));
    if (!this.token) {
      this.announce({ sku, ok: false, message: "Log in to add beers to your cart." });
      return;
    }
    try {
      const { status, body } = await this.call("PUT", "/api/orders/current", { sku, quantity });
      if (status === 201) {
        this.announce({ sku, ok: true, message: `Added ${quantity} to your cart.` });
        await this.refresh();
        return;
      }
      if (status === 401) {
        this.announce({ sku, ok: false, message: "Your session has ended; log in again to add beers." });
        this.refresh();
        return;
      }
      const reason = body?.errors?.quantity ? `The quantity ${body.errors.quantity}.` : body?.message;
      this.announce({ sku, ok: false, message: reason ?? "It could not be added." });
    } catch (error) {
      this.announce({ sku, ok: false, message: error.message });
      this.unavailable = error.message;
      this.render();
    }
  }

  render(note = "") {
    const intro = '<h2 id="ord-cart-title">Your cart</h2>';
    if (this.unavailable) {
      this.innerHTML = `<section class="ord-card" aria-labelledby="ord-cart-title">${intro}
        <p class="ord-unavailable" role="alert">${escape(this.unavailable)}</p>
        <button type="button" class="ord-retry">Try again</button></section>`;
      this.querySelector(".ord-retry").addEventListener("click", () => this.refresh());
      return;
    }
    if (!this.token || !this.order) {
      this.innerHTML = `<section class="ord-card" aria-labelledby="ord-cart-title">${intro}
        <p class="ord-muted">Log in to fill your cart.</p><p class="ord-note" role="status">${escape(note)}</p></section>`;
      return;
    }
    const names = beerNames();
    const lines = this.order.beers.map((line) => `
      <li class="ord-line" data-sku="${escape(line.sku)}">
        <div><p class="ord-line-name">${escape(names[line.sku] ?? `Beer ${line.sku}`)}</p>
          <p class="ord-line-unit">SKU ${escape(line.sku)} · ${this.price(line.unit_price)} each</p></div>
        <p class="ord-line-total">${this.price(line.line_total)}</p>
        <div class="ord-line-controls">
          <label>Quantity <input type="number" class="ord-quantity" min="0" max="10000" value="${line.quantity}"
            aria-label="Quantity of ${escape(names[line.sku] ?? line.sku)}"></label>
          <button type="button" class="ord-update">Update</button>
          <button type="button" class="ord-remove">Remove</button>
        </div>
      </li>`).join("");
    this.innerHTML = `
      <section class="ord-card" aria-labelledby="ord-cart-title">${intro}
        ${lines ? `<ul class="ord-lines">${lines}</ul>` : '<p class="ord-muted">Your cart is empty.</p>'}
        <p class="ord-total"><span>Total</span><span class="ord-total-amount">${this.price(this.order.total)}</span></p>
        <button type="button" class="ord-checkout primary" ${lines ? "" : "disabled"}>Check out</button>
        <p class="ord-note" role="status" aria-live="polite">${escape(note)}</p>
      </section>`;
    for (const row of this.querySelectorAll(".ord-line")) {
      const line = this.order.beers.find((l) => l.sku === row.dataset.sku);
      const input = row.querySelector(".ord-quantity");
      row.querySelector(".ord-update").addEventListener("click", () => this.setQuantity(line, input.value));
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") this.setQuantity(line, input.value);
      });
      row.querySelector(".ord-remove").addEventListener("click", () => this.setQuantity(line, "0"));
    }
    this.querySelector(".ord-checkout").addEventListener("click", () => this.checkout());
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
    try {
      let result = null;
      if (wanted < line.quantity) {
        result = await this.call("DELETE", "/api/orders/current", { sku: line.sku });
      }
      const more = wanted < line.quantity ? wanted : wanted - line.quantity;
      if (more > 0 && (!result || result.status === 204)) {
        result = await this.call("PUT", "/api/orders/current", { sku: line.sku, quantity: more });
      }
      if (result && result.status >= 400) {
        await this.refresh();
        this.noteError(result.body?.message ?? "The cart could not be changed.");
        return;
      }
      this.announce({ sku: line.sku, ok: true });
      await this.refresh(wanted === 0 ? "Removed from your cart." : "Quantity changed.");
    } catch (error) {
      this.noteError(error.message);
    }
  }

  async checkout() {
    try {
      const { status, body } = await this.call("POST", "/api/orders/checkout");
      if (status === 200) {
        this.announce({ ok: true, checkedOut: body.id });
        await this.refresh(`Thank you! Order ${body.id} is placed: ${this.price(body.total)}.`);
        return;
      }
      this.noteError(body?.message ?? "Checkout failed.");
    } catch (error) {
      this.noteError(error.message);
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
