// Small progressive enhancements; every page works without this file.

// The subscriptions table's selection: "select the page", "select all N matching" (which
// ticks the row boxes too) and the live "N selected" line of the bulk bar. Its wording
// comes translated from the page: data-none, data-one, data-many with "__N__".
function selectedCountUpdate() {
  const line = document.getElementById("selected-count");
  if (!line) return;
  const rows = document.querySelectorAll('input[type=checkbox][name="subscription"]');
  const allMatching = document.getElementById("select-all-matching");
  const matching = document.getElementById("matching-count");
  let n = Array.from(rows).filter((box) => box.checked).length;
  if (allMatching && allMatching.checked && matching) {
    n = Number(matching.getAttribute("data-count")) || n;
  }
  const template = n === 0 ? line.dataset.none : n === 1 ? line.dataset.one : line.dataset.many;
  line.textContent = (template || "").replace("__N__", n.toLocaleString(document.documentElement.lang || undefined));
  line.setAttribute("data-selected", String(n));
}

document.addEventListener("change", (event) => {
  const box = event.target;
  if (!box.matches) return;
  if (box.matches("input[data-select-all]")) {
    const name = box.getAttribute("data-select-all");
    document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((other) => {
      other.checked = box.checked;
    });
  }
  if (box.matches("#select-all-matching")) {
    document
      .querySelectorAll('input[type=checkbox][name="subscription"], #select-page')
      .forEach((other) => {
        other.checked = box.checked;
      });
  }
  // Unticking a row (or the page) means the selection is no longer "all matching".
  if (!box.checked && box.matches('input[name="subscription"], #select-page')) {
    const allMatching = document.getElementById("select-all-matching");
    if (allMatching) allMatching.checked = false;
  }
  selectedCountUpdate();
});
// The matching count arrives by htmx after the table.
document.addEventListener("htmx:afterSwap", selectedCountUpdate);

document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// "Copy" buttons next to a secret shown once: data-copy-from names the input to copy.
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("button[data-copy-from]");
  if (!button) return;
  const id = button.getAttribute("data-copy-from");
  const field = document.getElementById(id);
  const status = document.querySelector(`[data-copy-status="${id}"]`);
  if (!field) return;
  const done = () => {
    if (status) status.textContent = button.getAttribute("data-copied-text") || "";
  };
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, () => {
      if (document.execCommand("copy")) done();
    });
  } else if (document.execCommand("copy")) {
    done();
  }
});
