// Progressive enhancement only: every page works without JavaScript.
// "Noter une suite pour cette option" picks the option in the form below without reloading the
// page (ranking the case again), and moves the focus there.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.record-link");
  const select = document.getElementById("candidate_id");
  if (!link || !select) return;
  const option = Array.from(select.options).find((o) => o.value === link.dataset.candidate);
  if (!option) return;
  event.preventDefault();
  select.value = option.value;
  document.getElementById("suite").scrollIntoView({ behavior: "smooth", block: "start" });
  select.focus({ preventScroll: true });
  history.replaceState(null, "", link.href);
});
