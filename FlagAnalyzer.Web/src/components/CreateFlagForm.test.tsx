import { describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiError } from '../api/client';
import type { Flag } from '../api/types';
import { CreateFlagForm } from './CreateFlagForm';

describe('CreateFlagForm', () => {
  it('shows the API\'s validation messages next to the fields they name', async () => {
    const onCreate = vi.fn(async () => {
      throw new ApiError(400, 'One or more validation errors occurred.', undefined, {
        name: ["may contain only a-z, 0-9, '-', '_' and '.'"],
        'tags[1]': ['must be 1-50 non-blank characters'],
      });
    });
    render(<CreateFlagForm onCreate={onCreate} />);
    await userEvent.type(screen.getByTestId('flag-name'), 'Bad Name');
    await userEvent.click(screen.getByTestId('create-flag-submit'));

    expect(await screen.findByTestId('field-error-name')).toHaveTextContent("may contain only a-z, 0-9, '-', '_' and '.'");
    expect(screen.getByTestId('field-error-tags')).toHaveTextContent('must be 1-50 non-blank characters');
    expect(screen.queryByTestId('field-error-owner')).toBeNull();
    // what the user typed stays, so they can fix it
    expect(screen.getByTestId('flag-name')).toHaveValue('Bad Name');
  });

  it('sends what was entered and reports the created flag', async () => {
    const created = { id: 'flg_1', name: 'new-checkout-flow' } as Flag;
    const onCreate = vi.fn(async () => created);
    const onDone = vi.fn();
    render(<CreateFlagForm onCreate={onCreate} onDone={onDone} />);
    await userEvent.type(screen.getByTestId('flag-name'), 'new-checkout-flow');
    await userEvent.type(screen.getByTestId('flag-owner'), 'product-team');
    await userEvent.type(screen.getByTestId('flag-tags'), 'checkout, ux');
    await userEvent.click(screen.getByTestId('create-flag-submit'));

    expect(onDone).toHaveBeenCalledWith(created);
    expect(onCreate).toHaveBeenCalledWith(expect.objectContaining({
      name: 'new-checkout-flow', owner: 'product-team', tags: ['checkout', 'ux'], targetEnvironment: 'staging', enabled: false,
    }));
  });

  it('shows a failure that names no field as a banner', async () => {
    const onCreate = vi.fn(async () => { throw new ApiError(409, 'Conflict', "A flag named 'x' already exists."); });
    render(<CreateFlagForm onCreate={onCreate} />);
    await userEvent.type(screen.getByTestId('flag-name'), 'x');
    await userEvent.click(screen.getByTestId('create-flag-submit'));
    expect(await screen.findByRole('alert')).toHaveTextContent("A flag named 'x' already exists.");
  });
});
