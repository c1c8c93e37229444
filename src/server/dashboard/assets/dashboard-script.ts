/**
 * The dashboard's one script, served from /dashboard/assets/ (the CSP allows
 * scripts from the server only: no inline script, no eval). Every page works
 * without it; it adds:
 *
 * - copy buttons (`data-copy` = the id of the element to copy), shown only
 *   when the script runs;
 * - typed confirmations: a form's submit button stays disabled until the
 *   field with `data-must-equal` holds that text (the server checks it too);
 * - the grants of a new token greyed out while "admin" is chosen;
 * - the Activity charts (`data-refresh` = a fragment URL) refreshed every
 *   5 seconds while the page is visible.
 *
 * Plain ES2020, no dependencies, no build step; kept as a module so tsc ships
 * it in dist/.
 */
export const DASHBOARD_SCRIPT = `"use strict";
(function () {
  function copyText(element) {
    if (element.value !== undefined) return element.value;
    return element.textContent || "";
  }

  function setupCopy(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) return;
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      var text = copyText(target);
      var done = function (ok) {
        button.textContent = ok ? "Copied" : "Press Ctrl+C to copy";
        setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
        return;
      }
      if (target.select) {
        target.focus();
        target.select();
      } else {
        var range = document.createRange();
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok);
    });
  }

  function setupConfirm(input) {
    var form = input.form;
    if (!form) return;
    var buttons = form.querySelectorAll("button[type=submit]");
    var update = function () {
      var matches = input.value === input.getAttribute("data-must-equal");
      buttons.forEach(function (b) { b.disabled = !matches; });
    };
    input.addEventListener("input", update);
    update();
  }

  function setupAccess(form) {
    var grants = form.querySelector("[data-grants]");
    if (!grants) return;
    var update = function () {
      var chosen = form.querySelector("input[name=access]:checked");
      grants.disabled = chosen !== null && chosen.value === "admin";
    };
    form.querySelectorAll("input[name=access]").forEach(function (radio) {
      radio.addEventListener("change", update);
    });
    update();
  }

  function setupRefresh(element) {
    var url = element.getAttribute("data-refresh");
    var timer = null;
    var refresh = function () {
      if (document.hidden) return;
      fetch(url, { credentials: "same-origin", redirect: "manual", headers: { accept: "text/html" } })
        .then(function (response) {
          if (response.status !== 200) {
            clearInterval(timer);
            return null;
          }
          return response.text();
        })
        .then(function (text) {
          if (text === null) return;
          var parsed = new DOMParser().parseFromString(text, "text/html");
          var fresh = parsed.querySelector("[data-fragment]");
          if (fresh) element.replaceChildren.apply(element, Array.from(fresh.childNodes));
        })
        .catch(function () {});
    };
    timer = setInterval(refresh, 5000);
  }

  document.querySelectorAll("button[data-copy]").forEach(setupCopy);
  document.querySelectorAll("input[data-must-equal]").forEach(setupConfirm);
  document.querySelectorAll("form[data-token-form]").forEach(setupAccess);
  document.querySelectorAll("[data-refresh]").forEach(setupRefresh);
})();
`;
