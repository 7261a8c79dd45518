// The card form of /payments/methods: the gateway's own card field (Stripe.js) sends the card
// to the gateway, which answers a token; only that token is posted to the portal.
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") return;
  var stripe = Stripe(form.getAttribute("data-key"));
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", function (event) {
    if (form.elements.token.value) return;
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    stripe
      .confirmCardSetup(form.getAttribute("data-secret"), { payment_method: { card: card } })
      .then(function (result) {
        if (result.error) {
          errors.textContent = result.error.message || String(result.error);
          button.disabled = false;
          return;
        }
        form.elements.token.value = result.setupIntent.payment_method;
        form.submit();
      });
  });
})();
