/* Small fixes for reading the book, loaded on every page (issues 7 and 15). */
(function () {
  "use strict";
  // Sphinx's search page fetches each hit to show a text snippet. Browsers refuse fetch() on
  // file:// pages, which logs an error per hit; from disk, list the hits without snippets.
  if (window.location.protocol === "file:" && typeof DOCUMENTATION_OPTIONS !== "undefined") {
    DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;
  }

  // Sidebar buttons (issue 15). pydata-sphinx-theme 0.17 puts its own ☰ button, hidden in
  // this layout, into the top bar, before sphinx-book-theme's visible ones; both themes attach
  // their handlers with document.querySelector(".primary-toggle") (and ".secondary-toggle"),
  // i.e. to the hidden button only. Tapping the visible button on a phone then opens nothing,
  // and on a desktop it does not fold the sidebar (pydata-sphinx-theme issue #2451,
  // sphinx-book-theme issue #988). A click on any other button of the same class is handed to
  // the first one, unless a theme already reacted to it (a fixed theme version): the dialog
  // opened, or the sidebar folded or unfolded.
  function sidebarState() {
    const state = [];
    ["pst-primary-sidebar-modal", "pst-secondary-sidebar-modal"].forEach(function (id) {
      const dialog = document.getElementById(id);
      state.push(!!(dialog && dialog.open));
    });
    const primary = document.getElementById("pst-primary-sidebar");
    const secondary = document.getElementById("pst-secondary-sidebar");
    state.push(!!(primary && primary.classList.contains("pst-sidebar-hidden")));
    state.push(!!(secondary && secondary.classList.contains("pst-sidebar-hidden")));
    return state.join();
  }

  function forwardToFirst(selector) {
    const buttons = document.querySelectorAll(selector);
    if (buttons.length < 2) {
      return;
    }
    const first = buttons[0];
    Array.prototype.slice.call(buttons, 1).forEach(function (button) {
      button.addEventListener("click", function () {
        const before = sidebarState();
        window.setTimeout(function () {
          if (sidebarState() === before) {
            first.click();
          }
        }, 0);
      });
    });
  }

  function fixSidebarButtons() {
    forwardToFirst(".primary-toggle");
    forwardToFirst(".secondary-toggle");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fixSidebarButtons);
  } else {
    fixSidebarButtons();
  }
})();
