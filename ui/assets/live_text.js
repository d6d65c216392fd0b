// Sends what is typed in a Streamlit text area (found by its widget key) to Python while the user types, debounced,
// so the page can lint the text as it is written. Streamlit's own text area sends its value only on blur or
// Ctrl+Enter; on blur this sends null, and the page goes back to the committed value.
export default function (component) {
  const { data, setStateValue } = component;
  const selector = `.st-key-${data.key} textarea`;
  let timer = null;
  const watch = (area) => {
    area.__liveSend = setStateValue; // the latest mount's sender: a rerun remounts this component
    if (area.dataset.liveText === "on") return;
    area.dataset.liveText = "on";
    area.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => area.__liveSend("text", area.value), data.delay);
    });
    area.addEventListener("blur", () => {
      clearTimeout(timer);
      area.__liveSend("text", null);
    });
  };
  const attach = () => document.querySelectorAll(selector).forEach(watch);
  attach();
  const observer = new MutationObserver(attach); // the text area appears when its expander opens
  observer.observe(document.body, { childList: true, subtree: true });
  return () => observer.disconnect();
}
