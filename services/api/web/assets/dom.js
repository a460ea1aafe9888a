// @ts-check
/** The page's elements, and the cells its tables are made of. */

/**
 * The element of the page a selector names, of the type asked (HTMLElement unless told): the
 * page's own markup holds every one the modules ask for.
 * @template {Element} [E=HTMLElement]
 * @param {string} selector
 * @param {new () => E} [type]
 * @returns {E}
 */
export function $(selector, type) {
  const element = document.querySelector(selector);
  if (!(element instanceof (type ?? HTMLElement))) throw new Error(`the page has no ${selector}`);
  return /** @type {E} */ (element);
}

/**
 * The elements a selector names that are of the type asked.
 * @template {Element} E
 * @param {string} selector
 * @param {new () => E} type
 * @returns {E[]}
 */
export const $$ = (selector, type) =>
  /** @type {E[]} */ ([...document.querySelectorAll(selector)].filter((element) => element instanceof type));

/**
 * @param {string} text
 * @param {string} [className]
 */
export function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/**
 * A table's one row saying why it is empty.
 * @param {HTMLElement} tbody
 * @param {number} columns
 * @param {string} text
 */
export function emptyRow(tbody, columns, text) {
  tbody.replaceChildren();
  const tr = document.createElement('tr');
  const td = cell(text, 'empty');
  td.colSpan = columns;
  tr.append(td);
  tbody.append(tr);
}

/**
 * @param {string} text
 * @param {string} className
 */
export function block(text, className) {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  return span;
}

/**
 * A cell with a first line and a smaller second one (the second may be empty).
 * @param {string} first
 * @param {string} second
 * @param {string} [className]
 */
export function twoLines(first, second, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  td.append(block(first, 'main'));
  if (second) td.append(block(second, 'sub'));
  return td;
}

/**
 * A <time> of an instant (epoch milliseconds), with the text given.
 * @param {number} ms
 * @param {string} text
 */
export function timeElement(ms, text) {
  const time = document.createElement('time');
  time.dateTime = new Date(ms).toISOString();
  time.textContent = text;
  return time;
}
