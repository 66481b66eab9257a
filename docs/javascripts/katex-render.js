// Typesets the formulas that pymdownx.arithmatex (generic mode) leaves in a page,
// <span class="arithmatex">\(...\)</span> and <div class="arithmatex">\[...\]</div>,
// with the KaTeX shipped beside this file (javascripts/katex/): no request leaves the site.
(function () {
  "use strict";

  function strip(tex) {
    tex = tex.trim();
    var open = tex.slice(0, 2);
    if ((open === "\\(" || open === "\\[") && tex.length >= 4) return tex.slice(2, -2);
    return tex; // \begin{...} environments come without delimiters
  }

  function render(root) {
    root.querySelectorAll(".arithmatex").forEach(function (el) {
      if (el.dataset.katex) return; // already typeset
      var tex = strip(el.textContent);
      katex.render(tex, el, {
        displayMode: el.tagName === "DIV",
        throwOnError: false, // a formula KaTeX cannot parse is shown as its source, in red
      });
      el.dataset.katex = "1";
    });
  }

  // Material's document$ emits on every page load, including instant navigation
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { render(document.body); });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { render(document.body); });
  } else {
    render(document.body);
  }
})();
