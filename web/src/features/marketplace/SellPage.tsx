/**
 * /market/sell: list a new item (verified members only), with pictures chosen, ordered and
 * pruned before they are sent; the item is created first, then its pictures uploaded in order.
 */
import { useEffect, useRef, useState, type ChangeEvent } from "react";
import { Link, useNavigate } from "react-router";
import { useAction } from "../../api/hooks";
import { useSession } from "../../api/session";
import { Button, ErrorMessage, Loaded, Page } from "../../ui/ui";
import { createItem, uploadImage, type ItemFields } from "./api";
import { useCategories } from "./categories";
import { EMPTY_DRAFT, ItemForm } from "./ItemForm";
import { IMAGE_TYPES, imageProblem, MAX_IMAGES, moved } from "./images";
import { MarketNav } from "./MarketNav";
import { PictureList } from "./PictureList";
import "./marketplace.css";

export function SellPage() {
  const { account } = useSession();
  return (
    <Page title="Sell an item">
      <MarketNav />
      {account?.verified ? <SellForm /> : <NotVerified />}
    </Page>
  );
}

/** Only verified members sell (the API refuses others); the account may have been verified since sign-in. */
function NotVerified() {
  const { reloadAccount } = useSession();
  const check = useAction(reloadAccount);
  return (
    <>
      <div className="warning">
        <p>
          Only verified members can sell on BeYou. <Link to="/verification">Verify your identity</Link>: staff check it, and you can list items once they approve it.
        </p>
      </div>
      <p>
        <Button type="button" className="button secondary" busy={check.busy} onClick={() => void check.run()}>
          I have been verified: check again
        </Button>
      </p>
      <ErrorMessage error={check.error} />
    </>
  );
}

interface Chosen {
  key: string;
  file: File;
  url: string;
}

function SellForm() {
  const navigate = useNavigate();
  const categories = useCategories();
  const [chosen, setChosen] = useState<Chosen[]>([]);
  const [fileProblems, setFileProblems] = useState<string[]>([]);
  const [uploading, setUploading] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  // Previews are object URLs of the chosen files: released when the page goes away.
  const chosenRef = useRef(chosen);
  chosenRef.current = chosen;
  useEffect(() => () => chosenRef.current.forEach((picture) => URL.revokeObjectURL(picture.url)), []);

  function choose(event: ChangeEvent<HTMLInputElement>) {
    const files = Array.from(event.target.files ?? []);
    const problems: string[] = [];
    const accepted: Chosen[] = [];
    for (const file of files) {
      const problem = imageProblem(file);
      if (problem) problems.push(problem);
      else if (chosen.length + accepted.length >= MAX_IMAGES) problems.push(`${file.name}: an item has at most ${MAX_IMAGES} pictures.`);
      else accepted.push({ key: crypto.randomUUID(), file, url: URL.createObjectURL(file) });
    }
    setChosen((current) => [...current, ...accepted]);
    setFileProblems(problems);
    // Let the same file be chosen again after it was removed from the list.
    if (fileInput.current) fileInput.current.value = "";
  }

  function remove(index: number) {
    URL.revokeObjectURL(chosen[index].url);
    setChosen((current) => current.filter((_, i) => i !== index));
  }

  const listItem = useAction(async (fields: ItemFields) => {
    const item = await createItem(fields);
    const failures: string[] = [];
    for (const [index, picture] of chosen.entries()) {
      setUploading(`Uploading picture ${index + 1} of ${chosen.length}…`);
      try {
        await uploadImage(item.id, picture.file, picture.file.name);
      } catch (error) {
        failures.push(`${picture.file.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    setUploading(null);
    // The item exists now: whatever happened to a picture, the next step is on the item itself.
    if (failures.length) {
      navigate(`/market/items/${item.id}/edit`, { state: { notice: `Your item is listed, but some pictures were refused: ${failures.join(" ")} Add them again below.` } });
    } else {
      navigate(`/market/items/${item.id}`, { state: { notice: "Your item is listed." } });
    }
  });

  return (
    <Loaded state={categories}>
      {(categoryList) => (
        <ItemForm initial={EMPTY_DRAFT} categories={categoryList} submitLabel="List the item" busy={listItem.busy} error={listItem.error} onSubmit={(fields) => void listItem.run(fields)}>
          <fieldset className="pictures">
            <legend>Pictures</legend>
            <div className="field">
              <label htmlFor="sell-pictures">Add pictures</label>
              <input id="sell-pictures" ref={fileInput} type="file" accept={IMAGE_TYPES.join(",")} multiple aria-describedby="sell-pictures-hint" onChange={choose} />
              <small id="sell-pictures-hint">Up to {MAX_IMAGES} JPEG, PNG or WebP pictures of 5 MB at most. The first is shown in search results.</small>
            </div>
            {fileProblems.length > 0 && (
              <div className="error" role="alert">
                {fileProblems.map((problem) => <p key={problem}>{problem}</p>)}
              </div>
            )}
            <PictureList
              pictures={chosen.map((picture) => ({ key: picture.key, src: picture.url, label: picture.file.name }))}
              busy={listItem.busy}
              onMove={(index, step) => setChosen((current) => moved(current, index, step))}
              onRemove={remove}
            />
          </fieldset>
          {uploading && <p role="status">{uploading}</p>}
        </ItemForm>
      )}
    </Loaded>
  );
}
