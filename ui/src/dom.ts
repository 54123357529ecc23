/** Attributes `h` sets: `testid` becomes `data-testid`, the rest are plain attributes. */
export type Attributes = Readonly<Record<string, string | undefined>> & { testid?: string };

/**
 * Creates an element with attributes and children (strings become text nodes).
 * The playground builds its few dynamic parts with this instead of a framework.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined) element.setAttribute(name === "testid" ? "data-testid" : name, value);
  }
  element.append(...children);
  return element;
}

/**
 * The element with this id, checked to be of the expected class.
 *
 * @throws Error when index.html lacks it: a programming error, not a user one.
 */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`index.html has no <${type.name}> #${id}`);
  return element;
}
