/**
 * The marketplace in the real browser, against the native stack, under the gateway's CSP: a
 * verified seller lists an item with a picture through the sell form; a buyer finds it with the
 * search filters (which live in the URL: the back button brings the search back), opens it, adds
 * it to the cart, checks out, is declined with one test card and pays with another; the seller
 * sees the sale, the revenue chart and its figures. Every screen is checked with axe and
 * photographed (market-search, market-item, market-cart, market-order, market-sales).
 */
import type { Page } from "@playwright/test";
import { apiClientFor, newUser, type TestUser } from "./support/users";
import { checkA11y, expect, screenshot, signedInPage, test } from "./support/browser";
import { pngImage } from "./support/images";


/** Letters only: one word full-text search finds in this run's item and no other. */
function uniqueWord(): string {
  return Array.from({ length: 10 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join("");
}

async function expectImageLoaded(page: Page, name: string) {
  const image = page.getByRole("img", { name });
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((element: HTMLImageElement) => element.complete && element.naturalWidth > 0)).toBe(true);
}

/** The current month as the sales page labels it (the API counts months in UTC). */
function thisMonthLabel(): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toLocaleString("en-US", { month: "short", year: "numeric", timeZone: "UTC" });
}

test.describe("marketplace", () => {
  let seller: TestUser;
  let buyer: TestUser;
  let furniture: { id: string; name: string };
  let chairs: { id: string; name: string };
  const word = uniqueWord();
  const title = `Oak chair ${word}`;

  test.beforeAll(async () => {
    [seller, buyer] = await Promise.all([newUser({ name: "seller", verified: true }), newUser({ name: "buyer" })]);
    // A category tree of this run's own, so the filter by a parent finds items of its children.
    const staff = await apiClientFor(await newUser({ name: "catstaff", staff: true }));
    try {
      furniture = await staff.post("/api/marketplace/admin/categories", { name: `Furniture ${word}`, slug: `furniture-${word}` });
      chairs = await staff.post("/api/marketplace/admin/categories", { name: `Chairs ${word}`, slug: `chairs-${word}`, parent_id: furniture.id });
    } finally {
      staff.close();
    }
  });

  test("a seller lists an item, a buyer finds it, buys and pays; the seller sees the sale", async ({ browser }) => {
    test.setTimeout(240_000);

    // --- the seller lists an item with a picture ---------------------------------------------
    const sellerPage = await signedInPage(browser, seller, "/market/sell");
    await expect(sellerPage.getByRole("heading", { level: 1, name: "Sell an item" })).toBeVisible();
    const form = sellerPage.getByRole("form", { name: "Item details" });
    await form.getByLabel("Title").fill(title);
    await form.getByLabel("Description").fill("Solid oak, a little worn on one leg.\nCollect or ship.");
    await form.getByLabel("Category").selectOption(chairs.id);
    await form.getByLabel("Price", { exact: true }).fill("45.50");
    await form.getByLabel("Currency").fill("EUR");
    await form.getByLabel("Quantity").fill("1");
    await form.getByLabel("Condition").selectOption("good");
    await form.getByLabel("Add pictures").setInputFiles([{ name: "chair.png", mimeType: "image/png", buffer: await pngImage(sellerPage, 320, 240) }]);
    await expectImageLoaded(sellerPage, "chair.png");
    await checkA11y(sellerPage, "sell form");
    await screenshot(sellerPage, "market-sell");
    await form.getByRole("button", { name: "List the item" }).click();

    await expect(sellerPage).toHaveURL(/\/market\/items\/[0-9a-f-]{36}$/);
    const itemId = sellerPage.url().split("/").pop()!;
    await expect(sellerPage.getByRole("heading", { level: 1, name: title })).toBeVisible();
    await expect(sellerPage.getByRole("status").filter({ hasText: "Your item is listed." })).toBeVisible();
    await expectImageLoaded(sellerPage, `${title}: picture 1 of 1`);
    await expect(sellerPage.getByRole("link", { name: "Edit item" })).toBeVisible();

    // --- the buyer searches with filters -----------------------------------------------------
    const buyerPage = await signedInPage(browser, buyer, "/market");
    const search = buyerPage.getByRole("search", { name: "Search items" });
    await search.getByLabel("Search for").fill(word);
    await search.getByLabel("Category").selectOption(furniture.id);
    await search.getByLabel("Currency").fill("EUR");
    await search.getByLabel("Lowest price").fill("40");
    await search.getByLabel("Highest price").fill("50");
    await search.getByLabel("Only items I can buy now").check();
    await search.getByRole("button", { name: "Search", exact: true }).click();
    // The filters are the page's address: this search is a link.
    await expect(buyerPage).toHaveURL(new RegExp(`/market\\?q=${word}&category=${furniture.id}&min=40&max=50&currency=EUR&available=1$`));
    await expect(buyerPage.getByRole("status").filter({ hasText: "Showing 1 item." })).toBeVisible();
    const result = buyerPage.getByRole("link", { name: title });
    await expect(result).toBeVisible();
    await checkA11y(buyerPage, "search results");
    await screenshot(buyerPage, "market-search");

    // A price range that leaves it out finds nothing.
    await search.getByLabel("Highest price").fill("45");
    await search.getByRole("button", { name: "Search", exact: true }).click();
    await expect(buyerPage.getByRole("status").filter({ hasText: "No items match this search." })).toBeVisible();
    // The back button brings back the previous search, filters and results.
    await buyerPage.goBack();
    await expect(buyerPage.getByRole("search", { name: "Search items" }).getByLabel("Highest price")).toHaveValue("50");
    await expect(buyerPage.getByRole("link", { name: title })).toBeVisible();

    // --- the item page, the cart -------------------------------------------------------------
    await buyerPage.getByRole("link", { name: title }).click();
    await expect(buyerPage.getByRole("heading", { level: 1, name: title })).toBeVisible();
    await expectImageLoaded(buyerPage, `${title}: picture 1 of 1`);
    await expect(buyerPage.getByText("€45.50").first()).toBeVisible();
    await expect(buyerPage.getByText("Good", { exact: true })).toBeVisible();
    await checkA11y(buyerPage, "item page");
    await screenshot(buyerPage, "market-item");
    const addToCart = buyerPage.getByRole("form", { name: "Add to cart" });
    await addToCart.getByLabel("Quantity").fill("1");
    await addToCart.getByRole("button", { name: "Add to cart" }).click();
    await expect(buyerPage.getByRole("status").filter({ hasText: "Added 1 to your cart." })).toBeVisible();
    await buyerPage.getByRole("link", { name: "Go to the cart" }).click();

    await expect(buyerPage.getByRole("heading", { level: 1, name: "Your cart" })).toBeVisible();
    await expect(buyerPage.getByRole("list", { name: "Items in your cart" }).getByRole("link", { name: title })).toBeVisible();
    await expect(buyerPage.getByRole("region", { name: "Total" })).toContainText("€45.50");
    const checkout = buyerPage.getByRole("form", { name: "Checkout" });
    await checkout.getByLabel("Full name").fill("Bea Buyer");
    await checkout.getByLabel("Address", { exact: true }).fill("1 Market Street");
    await checkout.getByLabel("City").fill("Berlin");
    await checkout.getByLabel("Postal code").fill("10115");
    await checkout.getByLabel("Country").fill("DE");
    await checkA11y(buyerPage, "cart");
    await screenshot(buyerPage, "market-cart");
    await checkout.getByRole("button", { name: "Place order" }).click();

    // --- the order: a declined card, then the good one ---------------------------------------
    await expect(buyerPage).toHaveURL(/\/market\/orders\/[0-9a-f-]{36}$/);
    await expect(buyerPage.getByText("Waiting for payment")).toBeVisible();
    await expect(buyerPage.getByText(/Your items are held for you for \d+:\d\d more/)).toBeVisible();
    const pay = buyerPage.getByRole("form", { name: "Pay €45.50" });
    const year = String(new Date().getFullYear() + 2);
    await pay.getByLabel("Card number").fill("4000 0000 0000 0002");
    await pay.getByLabel("Expiry month").selectOption("12");
    await pay.getByLabel("Expiry year").fill(year);
    await pay.getByLabel("Security code (CVC)").fill("123");
    await pay.getByRole("button", { name: "Pay now" }).click();
    await expect(pay.getByRole("alert")).toContainText("Payment failed");
    await expect(buyerPage.getByRole("listitem").filter({ hasText: /Declined: €45\.50 by Visa ending 0002/ })).toBeVisible();
    await checkA11y(buyerPage, "order, payment declined");
    await screenshot(buyerPage, "market-order");

    await pay.getByLabel("Card number").fill("4242 4242 4242 4242");
    await pay.getByLabel("Security code (CVC)").fill("123");
    await pay.getByRole("button", { name: "Pay now" }).click();
    await expect(buyerPage.getByRole("status").filter({ hasText: "This order is paid. Thank you!" })).toBeVisible();
    await expect(buyerPage.getByRole("listitem").filter({ hasText: /Paid: €45\.50 by Visa ending 4242/ })).toBeVisible();
    await expect(buyerPage.getByRole("form", { name: "Pay €45.50" })).toHaveCount(0);

    await buyerPage.getByRole("navigation", { name: "Marketplace" }).getByRole("link", { name: "My orders" }).click();
    await expect(buyerPage.getByRole("listitem").filter({ hasText: title })).toContainText("Paid");

    // --- the seller sees the sale and the chart ----------------------------------------------
    await sellerPage.getByRole("navigation", { name: "Marketplace" }).getByRole("link", { name: "My sales" }).click();
    await expect(sellerPage.getByRole("heading", { level: 1, name: "My sales" })).toBeVisible();
    await expect(sellerPage.getByRole("region", { name: "Summary" })).toContainText("€45.50 from 1 order, 1 unit");
    await expect(sellerPage.getByRole("region", { name: "Summary" })).toContainText(/Unique buyers\s*1/);
    const chart = sellerPage.getByRole("figure", { name: "Revenue by month in EUR" });
    await expect(chart.getByRole("img", { name: /Revenue by month in EUR: bar chart of 1 bar/ })).toBeVisible();
    await expect(chart.locator(".recharts-bar-rectangle")).toHaveCount(1);
    await chart.getByText("Figures as a table").click();
    await expect(chart.getByRole("row", { name: `${thisMonthLabel()} €45.50` })).toBeVisible();
    const sold = sellerPage.getByRole("region", { name: "Orders for my items" });
    await expect(sold.getByRole("listitem").filter({ hasText: title })).toContainText("Paid");
    await expect(sold.getByRole("listitem").filter({ hasText: title })).toContainText("ship to Bea Buyer, 1 Market Street, 10115 Berlin, DE");
    await checkA11y(sellerPage, "sales");
    await screenshot(sellerPage, "market-sales");

    // Sold out: the item page says so and offers nothing to buy.
    await buyerPage.goto(`/market/items/${itemId}`);
    await expect(buyerPage.getByText("Sold out", { exact: true })).toBeVisible();
    await expect(buyerPage.getByText("No units are free to buy right now.")).toBeVisible();
  });

  test("a seller adds, reorders and removes pictures, changes the price, then removes the item", async ({ browser }) => {
    const api = await apiClientFor(seller);
    let item: { id: string };
    try {
      item = await api.post("/api/marketplace/items", {
        title: `Desk lamp ${word}`, description: "Brass.", category_id: chairs.id, price_minor: 1500, currency: "EUR", quantity: 2, condition: "like_new",
      });
    } finally {
      api.close();
    }
    const page = await signedInPage(browser, seller, `/market/items/${item.id}/edit`);
    await expect(page.getByRole("heading", { level: 1, name: `Edit “Desk lamp ${word}”` })).toBeVisible();
    await expect(page.getByText("No pictures yet.")).toBeVisible();

    await page.getByLabel("Add pictures").setInputFiles([
      { name: "front.png", mimeType: "image/png", buffer: await pngImage(page, 200, 300) },
      { name: "side.png", mimeType: "image/png", buffer: await pngImage(page, 300, 200) },
    ]);
    await expect(page.getByRole("status").filter({ hasText: "Pictures added." })).toBeVisible();
    await expectImageLoaded(page, "Picture 1");
    await expectImageLoaded(page, "Picture 2");
    const second = await page.getByRole("img", { name: "Picture 2" }).getAttribute("src");

    // Moving the second picture first: the keyboard stays on that picture's buttons.
    await page.getByRole("button", { name: "Move Picture 2 earlier" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Picture 2 is now picture 1." })).toBeVisible();
    await expect(page.getByRole("img", { name: "Picture 1" })).toHaveAttribute("src", second!);
    await expect(page.getByRole("button", { name: "Move Picture 1 later" })).toBeFocused();
    await checkA11y(page, "edit item");
    await screenshot(page, "market-edit");

    await page.getByRole("button", { name: "Remove Picture 2" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Picture 2 removed." })).toBeVisible();
    await expect(page.getByRole("img", { name: /^Picture \d$/ })).toHaveCount(1);

    const form = page.getByRole("form", { name: "Item details" });
    await form.getByLabel("Price", { exact: true }).fill("12");
    await form.getByRole("button", { name: "Save changes" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();

    await page.getByRole("link", { name: "See the item as buyers do" }).click();
    await expect(page.getByText("€12.00")).toBeVisible();
    await expect(page.getByRole("img", { name: `Desk lamp ${word}: picture 1 of 1` })).toHaveAttribute("src", second!.replace(/\/256$/, "/1024"));

    await page.getByRole("button", { name: "Remove from sale" }).click();
    await page.getByRole("button", { name: "Yes, remove it" }).click();
    await expect(page).toHaveURL(/\/market\/mine$/);
    await expect(page.getByRole("status").filter({ hasText: `“Desk lamp ${word}” was removed from sale.` })).toBeVisible();
    await expect(page.getByRole("listitem").filter({ hasText: `Desk lamp ${word}` })).toContainText("Removed");
  });

  test("a visitor browses without signing in; a member not yet verified is sent to verification to sell", async ({ browser, page }) => {
    const api = await apiClientFor(seller);
    try {
      await api.post("/api/marketplace/items", {
        title: `Stool ${word}`, description: "Pine.", category_id: chairs.id, price_minor: 900, currency: "EUR", quantity: 1, condition: "fair",
      });
    } finally {
      api.close();
    }
    // Search and item pages need no account; the API answers them without a token.
    await page.goto(`/market?q=${word}&condition=fair`);
    await expect(page.getByRole("search", { name: "Search items" }).getByLabel("Condition")).toHaveValue("fair");
    // A price range needs a currency (prices compare within one): said at the field, nothing searched.
    const search = page.getByRole("search", { name: "Search items" });
    await search.getByLabel("Lowest price").fill("5");
    await search.getByRole("button", { name: "Search", exact: true }).click();
    await expect(search.getByText("Choose a currency to filter by price.")).toBeVisible();
    await expect(search.getByLabel("Lowest price")).toBeFocused();
    await expect(page).toHaveURL(new RegExp(`/market\\?q=${word}&condition=fair$`));
    await page.getByRole("link", { name: `Stool ${word}` }).click();
    await expect(page.getByRole("heading", { level: 1, name: `Stool ${word}` })).toBeVisible();
    await expect(page.getByText("No pictures of this item.")).toBeVisible();
    await expect(page.getByRole("link", { name: "Sign in" }).last()).toBeVisible();
    await expect(page.getByText("to buy this item.")).toBeVisible();
    await checkA11y(page, "item page, signed out");

    const memberPage = await signedInPage(browser, buyer, "/market/sell");
    await expect(memberPage.getByText("Only verified members can sell on BeYou.")).toBeVisible();
    await expect(memberPage.getByRole("link", { name: "Verify your identity" })).toHaveAttribute("href", "/verification");
    await expect(memberPage.getByRole("form", { name: "Item details" })).toHaveCount(0);
    await checkA11y(memberPage, "sell page, not verified");
  });
});
