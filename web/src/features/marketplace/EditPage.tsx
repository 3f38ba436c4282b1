/** /market/items/:id/edit: the seller changes the item's details and its pictures (add, reorder, remove). */
import { useRef, useState, type ChangeEvent } from "react";
import { Link, useParams } from "react-router";
import { useAction, useAsync } from "../../api/hooks";
import { useSession } from "../../api/session";
import { ErrorMessage, Loaded, Notice, Page } from "../../ui/ui";
import { deleteImage, getItem, orderImages, updateItem, uploadImage, type Category, type Item, type ItemFields } from "./api";
import { useCategories } from "./categories";
import { FlashNotice } from "./flash";
import { draftOf, ItemForm } from "./ItemForm";
import { IMAGE_TYPES, imageProblem, MAX_IMAGES, moved } from "./images";
import { MarketNav } from "./MarketNav";
import { PictureList } from "./PictureList";
import "./marketplace.css";

export function EditPage() {
  const { id = "" } = useParams();
  const { account } = useSession();
  const item = useAsync((signal) => getItem(id, signal), [id]);
  const categories = useCategories();
  return (
    <Page title={item.data ? `Edit “${item.data.title}”` : "Edit item"}>
      <MarketNav />
      <FlashNotice />
      <Loaded state={item}>
        {(loaded) =>
          loaded.seller_id !== account?.id ? (
            <p>Only the seller of an item can change it. <Link to={`/market/items/${loaded.id}`}>Back to the item</Link></p>
          ) : (
            <>
              <p>
                <Link to={`/market/items/${loaded.id}`}>See the item as buyers do</Link>
              </p>
              <h2>Details</h2>
              <Loaded state={categories}>{(list) => <DetailsForm item={loaded} categories={list} onSaved={item.setData} />}</Loaded>
              <h2>Pictures</h2>
              <PictureManager item={loaded} onChanged={item.setData} />
            </>
          )
        }
      </Loaded>
    </Page>
  );
}

function DetailsForm({ item, categories, onSaved }: { item: Item; categories: Category[]; onSaved: (item: Item) => void }) {
  const [saved, setSaved] = useState(false);
  const save = useAction(async (fields: ItemFields) => {
    setSaved(false);
    onSaved(await updateItem(item.id, fields));
    setSaved(true);
  });
  return (
    <>
      <ItemForm initial={draftOf(item)} categories={categories} submitLabel="Save changes" busy={save.busy} error={save.error} onSubmit={(fields) => void save.run(fields)} />
      {saved && <Notice>Saved.</Notice>}
    </>
  );
}

function PictureManager({ item, onChanged }: { item: Item; onChanged: (item: Item) => void }) {
  const [status, setStatus] = useState<string>();
  const [problems, setProblems] = useState<string[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const images = item.images;
  const label = (index: number) => `Picture ${index + 1}`;

  const refresh = async () => onChanged(await getItem(item.id));

  const add = useAction(async (files: File[]) => {
    const refused: string[] = [];
    let room = MAX_IMAGES - images.length;
    for (const file of files) {
      const problem = imageProblem(file) ?? (room <= 0 ? `${file.name}: an item has at most ${MAX_IMAGES} pictures.` : null);
      if (problem) {
        refused.push(problem);
        continue;
      }
      setStatus(`Uploading ${file.name}…`);
      try {
        await uploadImage(item.id, file, file.name);
        room -= 1;
      } catch (error) {
        refused.push(`${file.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    setProblems(refused);
    await refresh();
    setStatus(refused.length ? "Some pictures were not added." : "Pictures added.");
  });

  const reorder = useAction(async (index: number, step: -1 | 1) => {
    const ids = moved(images.map((image) => image.id), index, step);
    const answer = await orderImages(item.id, ids);
    onChanged({ ...item, images: answer.images });
    setStatus(`${label(index)} is now picture ${index + step + 1}.`);
  });

  const remove = useAction(async (index: number) => {
    await deleteImage(item.id, images[index].id);
    await refresh();
    setStatus(`${label(index)} removed.`);
  });

  function choose(event: ChangeEvent<HTMLInputElement>) {
    const files = Array.from(event.target.files ?? []);
    if (fileInput.current) fileInput.current.value = "";
    if (files.length) void add.run(files);
  }

  const busy = add.busy || reorder.busy || remove.busy;
  return (
    <div className="pictures">
      {images.length === 0 && <p className="muted">No pictures yet.</p>}
      <PictureList
        pictures={images.map((image, index) => ({ key: image.id, src: image.urls["256"], label: label(index) }))}
        busy={busy}
        onMove={(index, step) => void reorder.run(index, step)}
        onRemove={(index) => void remove.run(index)}
      />
      <div className="field">
        <label htmlFor="edit-pictures">Add pictures</label>
        <input id="edit-pictures" ref={fileInput} type="file" accept={IMAGE_TYPES.join(",")} multiple disabled={busy || images.length >= MAX_IMAGES} aria-describedby="edit-pictures-hint" onChange={choose} />
        <small id="edit-pictures-hint">
          {images.length >= MAX_IMAGES ? `This item has the most pictures allowed (${MAX_IMAGES}); remove one to add another.` : `Up to ${MAX_IMAGES} JPEG, PNG or WebP pictures of 5 MB at most; the first is shown in search results.`}
        </small>
      </div>
      {problems.length > 0 && (
        <div className="error" role="alert">
          {problems.map((problem) => <p key={problem}>{problem}</p>)}
        </div>
      )}
      <ErrorMessage error={add.error ?? reorder.error ?? remove.error} />
      <p role="status" className="muted">{status}</p>
    </div>
  );
}
