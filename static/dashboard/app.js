// Small progressive enhancements; every page works without this file.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.matches && box.matches("input[data-select-all]")) {
    const name = box.getAttribute("data-select-all");
    document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((other) => {
      other.checked = box.checked;
    });
  }
});
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
