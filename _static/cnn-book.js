/* Small fixes for reading the book from disk (file://), loaded on every page (issue 7). */
(function () {
  "use strict";
  // Sphinx's search page fetches each hit to show a text snippet. Browsers refuse fetch() on
  // file:// pages, which logs an error per hit; from disk, list the hits without snippets.
  if (window.location.protocol === "file:" && typeof DOCUMENTATION_OPTIONS !== "undefined") {
    DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;
  }
})();
