// jsdom lacks these browser APIs; antd and dnd-kit call them.
Object.defineProperty(window, 'matchMedia', {
  writable: true,
  value: (query: string) => ({
    matches: false, media: query, onchange: null,
    addListener: () => {}, removeListener: () => {},
    addEventListener: () => {}, removeEventListener: () => {}, dispatchEvent: () => false,
  }),
});
class RO { observe() {} unobserve() {} disconnect() {} }
(globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver = RO;
window.scrollTo = () => {};
const origGCS = window.getComputedStyle;
window.getComputedStyle = (elt: Element) => origGCS(elt);
