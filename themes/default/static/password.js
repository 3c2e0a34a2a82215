// Shows, as the person types, which password criteria are met. The server checks the same rules.
(function () {
  var form = document.getElementById("password-form");
  if (!form) return;
  var input = document.getElementById("password");
  var email = (form.dataset.email || "").split("@")[0].toLowerCase();
  var numbers = (form.dataset.numbers || "").toLowerCase().split(" ").filter(Boolean);
  var min = parseInt(form.dataset.min || "12", 10);
  var common = ["azerty123456", "motdepasse123", "password1234", "123456789012", "qwerty123456"];
  function rules(p) {
    var l = p.toLowerCase();
    return {
      length: p.length >= min,
      letters_digits: /\p{L}/u.test(p) && /[0-9]/.test(p),
      no_email: email.length < 3 || l.indexOf(email) === -1,
      no_number: numbers.every(function (n) { return l.indexOf(n) === -1; }),
      not_common: p.length > 0 && common.indexOf(l) === -1
    };
  }
  function update() {
    var r = rules(input.value);
    form.querySelectorAll("[data-rule]").forEach(function (li) {
      var ok = !!r[li.dataset.rule];
      li.classList.toggle("ok", ok);
      li.setAttribute("aria-label", li.textContent + (ok ? " ✓" : ""));
    });
  }
  input.addEventListener("input", update);
  update();
})();
